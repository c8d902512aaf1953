{{/* Chart name, truncated to the 63 characters a label allows. */}}
{{- define "meterbridge.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Fully qualified name: the release name, with the chart name unless the release already holds it. */}}
{{- define "meterbridge.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "meterbridge.selectorLabels" -}}
app.kubernetes.io/name: {{ include "meterbridge.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "meterbridge.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "meterbridge.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: metering
{{- end }}

{{- define "meterbridge.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "meterbridge.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The store's claim: an existing one or the chart's. */}}
{{- define "meterbridge.claimName" -}}
{{- default (printf "%s-store" (include "meterbridge.fullname" .)) .Values.persistence.existingClaim }}
{{- end }}

{{- define "meterbridge.apiKeysSecretName" -}}
{{- printf "%s-api-keys" (include "meterbridge.fullname" .) }}
{{- end }}

{{- define "meterbridge.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* The dashboard's authentication from values: "bearer", "basic", "none" (allowUnauthenticated) or "" (loopback only). */}}
{{- define "meterbridge.dashboardAuth" -}}
{{- $auth := .Values.dashboard.auth }}
{{- if and $auth.bearerTokenSecret.name $auth.basic.username }}
{{- fail "dashboard.auth: set bearerTokenSecret or basic, not both" }}
{{- else if $auth.bearerTokenSecret.name }}bearer
{{- else if $auth.basic.username }}
{{- if not $auth.basic.passwordSecret.name }}
{{- fail "dashboard.auth.basic.username needs dashboard.auth.basic.passwordSecret.name" }}
{{- end }}basic
{{- else if .Values.dashboard.allowUnauthenticated }}none
{{- end }}
{{- end }}

{{/*
Whether the dashboard port is open to the pod network (containerPort, Service, NetworkPolicy): the extension with
authentication (or allowUnauthenticated), or the Service alone for an extension written by hand.
*/}}
{{- define "meterbridge.dashboardPort" -}}
{{- if or (and .Values.dashboard.enabled (include "meterbridge.dashboardAuth" .)) .Values.service.dashboard.enabled }}true{{ end }}
{{- end }}

{{/* Where the dashboard's credentials Secret is mounted. */}}
{{- define "meterbridge.dashboardAuthDir" -}}/etc/meterbridge/dashboard-auth{{- end }}

{{/* The Secret holding the dashboard's credential ("" without one). */}}
{{- define "meterbridge.dashboardAuthSecret" -}}
{{- $mode := include "meterbridge.dashboardAuth" . }}
{{- if eq $mode "bearer" }}{{ .Values.dashboard.auth.bearerTokenSecret.name }}
{{- else if eq $mode "basic" }}{{ .Values.dashboard.auth.basic.passwordSecret.name }}
{{- end }}
{{- end }}

{{/*
The pipeline config of values, with:
- the prometheus exporter (/metrics, /healthz, /readyz) on <health.bindAddress>:<health.port>, whatever the
  code's default address is;
- with dashboard.enabled, the dashboard extension (its settings from dashboard.config over any written in
  config.extensions.dashboard) listed in service.extensions: on 0.0.0.0:<port> with the configured auth (or
  allow_unauthenticated_non_loopback when dashboard.allowUnauthenticated), else on 127.0.0.1:<port>.
*/}}
{{- define "meterbridge.config" -}}
{{- $config := deepCopy .Values.config }}
{{- $exporters := default (dict) $config.exporters }}
{{- if kindIs "map" (get $exporters "prometheus") }}
{{- $prometheus := deepCopy (default (dict) (get $exporters "prometheus")) }}
{{- $_ := set $prometheus "endpoint" (printf "%s:%v" .Values.health.bindAddress .Values.health.port) }}
{{- $_ := set $exporters "prometheus" $prometheus }}
{{- $_ := set $config "exporters" $exporters }}
{{- end }}
{{- if .Values.dashboard.enabled }}
{{- $extensions := default (dict) $config.extensions }}
{{- $mode := include "meterbridge.dashboardAuth" . }}
{{- $dir := include "meterbridge.dashboardAuthDir" . }}
{{- $chart := dict "endpoint" (printf "127.0.0.1:%v" .Values.service.dashboard.port) }}
{{- if $mode }}
{{- $_ := set $chart "endpoint" (printf "0.0.0.0:%v" .Values.service.dashboard.port) }}
{{- end }}
{{- if eq $mode "bearer" }}
{{- $_ := set $chart "auth" (dict "bearer_token_file" (printf "%s/%s" $dir .Values.dashboard.auth.bearerTokenSecret.key)) }}
{{- else if eq $mode "basic" }}
{{- $basic := dict "username" .Values.dashboard.auth.basic.username "password_file" (printf "%s/%s" $dir .Values.dashboard.auth.basic.passwordSecret.key) }}
{{- $_ := set $chart "auth" (dict "basic" $basic) }}
{{- else if eq $mode "none" }}
{{- $_ := set $chart "allow_unauthenticated_non_loopback" true }}
{{- end }}
{{- $written := deepCopy (default (dict) (get $extensions "dashboard")) }}
{{- $_ := set $extensions "dashboard" (mergeOverwrite $written (deepCopy .Values.dashboard.config) $chart) }}
{{- $_ := set $config "extensions" $extensions }}
{{- $service := default (dict) $config.service }}
{{- $list := default (list) $service.extensions }}
{{- if not (has "dashboard" $list) }}
{{- $_ := set $service "extensions" (append $list "dashboard") }}
{{- end }}
{{- $_ := set $config "service" $service }}
{{- end }}
{{- if .Values.ha.enabled }}
{{- $extensions := default (dict) $config.extensions }}
{{- $chart := dict "namespace" "${env:POD_NAMESPACE}" "identity" "${env:POD_NAME}" "lease_name" (default (include "meterbridge.fullname" .) .Values.ha.leaseName) "lease_duration" .Values.ha.leaseDuration "renew_deadline" .Values.ha.renewDeadline "retry_period" .Values.ha.retryPeriod }}
{{- $written := deepCopy (default (dict) (get $extensions "leader_election")) }}
{{- $_ := set $extensions "leader_election" (mergeOverwrite $written $chart) }}
{{- $_ := set $config "extensions" $extensions }}
{{- $service := default (dict) $config.service }}
{{- $list := default (list) $service.extensions }}
{{- if not (has "leader_election" $list) }}
{{- $_ := set $service "extensions" (append $list "leader_election") }}
{{- end }}
{{- $_ := set $config "service" $service }}
{{- end }}
{{- toYaml $config }}
{{- end }}

{{/*
The pod's `checksum/secret`: sha256 of a salt and the chart's Secret values, so a change rolls the pod while the
annotation says nothing about the values to whoever reads Pods. The salt: secrets.checksumSalt, else the one
the chart's Secret already carries (lookup), else a new random one (kept on the Secret, see secret.yaml).
*/}}
{{- define "meterbridge.secretSalt" -}}
{{- if .Values.secrets.checksumSalt }}{{ .Values.secrets.checksumSalt }}
{{- else }}
{{- $existing := lookup "v1" "Secret" .Release.Namespace (include "meterbridge.apiKeysSecretName" .) }}
{{- $salt := "" }}
{{- if $existing }}{{ $salt = index (default (dict) $existing.metadata.annotations) "meterbridge/checksum-salt" | default "" }}{{ end }}
{{- if not $salt }}
{{- if not .Values.secrets._generatedSalt }}{{ $_ := set .Values.secrets "_generatedSalt" (randAlphaNum 32) }}{{ end }}
{{- $salt = .Values.secrets._generatedSalt }}
{{- end }}
{{- $salt }}
{{- end }}
{{- end }}

{{- define "meterbridge.secretChecksum" -}}
{{- $values := list }}
{{- range $name, $value := .Values.secrets.create }}{{ $values = append $values (printf "%s=%s" $name (toString $value)) }}{{ end }}
{{- printf "%s\n%s" (include "meterbridge.secretSalt" .) (join "\n" $values) | sha256sum }}
{{- end }}
