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

{{/* Whether the dashboard port is open (containerPort, Service, NetworkPolicy): the extension or the Service alone. */}}
{{- define "meterbridge.dashboardPort" -}}
{{- if or .Values.dashboard.enabled .Values.service.dashboard.enabled }}true{{ end }}
{{- end }}

{{/*
The pipeline config of values, plus, with dashboard.enabled, the dashboard extension on 0.0.0.0:<port> (its
settings from dashboard.config over any written in config.extensions.dashboard) listed in service.extensions.
*/}}
{{- define "meterbridge.config" -}}
{{- $config := deepCopy .Values.config }}
{{- if .Values.dashboard.enabled }}
{{- $extensions := default (dict) $config.extensions }}
{{- $endpoint := dict "endpoint" (printf "0.0.0.0:%v" .Values.service.dashboard.port) }}
{{- $written := deepCopy (default (dict) (get $extensions "dashboard")) }}
{{- $_ := set $extensions "dashboard" (mergeOverwrite $written (deepCopy .Values.dashboard.config) $endpoint) }}
{{- $_ := set $config "extensions" $extensions }}
{{- $service := default (dict) $config.service }}
{{- $list := default (list) $service.extensions }}
{{- if not (has "dashboard" $list) }}
{{- $_ := set $service "extensions" (append $list "dashboard") }}
{{- end }}
{{- $_ := set $config "service" $service }}
{{- end }}
{{- toYaml $config }}
{{- end }}
