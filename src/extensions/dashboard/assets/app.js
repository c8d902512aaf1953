// meterbridge dashboard: fetches the JSON API (README.md) and renders cards, a uPlot chart and tables.
// Quantities arrive as exact decimal strings; they are shortened for display only.
/* global document, fetch, uPlot, setInterval */
'use strict';
(function () {
  const $ = (id) => document.getElementById(id);
  const PALETTE = ['#2b6cb0', '#c05621', '#2f855a', '#6b46c1', '#b83280', '#2c7a7b', '#975a16', '#4a5568'];
  let chart;
  let refreshMs = 10000;

  /** `1234.567890123` → `1,234.568` (display only). */
  function short(decimal, digits) {
    const d = digits === undefined ? 3 : digits;
    const n = Number(decimal);
    return n.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
  }

  function el(tag, attrs, children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'text') e.textContent = v;
      else e.setAttribute(k, v);
    }
    for (const c of children || []) e.append(c);
    return e;
  }

  function dl(rows) {
    const list = el('dl');
    for (const [term, value, testid] of rows) {
      list.append(
        el('dt', { text: term }),
        el('dd', testid ? { text: value, 'data-testid': testid } : { text: value }),
      );
    }
    return list;
  }

  function tenantCard(t, currency) {
    const card = el('article', {
      class: t.unattributed ? 'card unattributed' : 'card',
      'data-tenant': t.tenant,
      'data-testid': 'tenant-card',
    });
    const title = el('h3', {}, [el('span', { text: t.tenant })]);
    if (t.cost !== null)
      title.append(
        el('span', { class: 'cost', 'data-testid': 'cost', 'data-value': t.cost, text: `${t.cost} ${currency}` }),
      );
    card.append(title);
    const gpus = Object.entries(t.allocation.gpus_by_sku);
    card.append(el('h4', { text: 'Now (average over the allocation window)' }));
    card.append(
      dl(
        (gpus.length ? gpus.map(([sku, q]) => [`${sku}`, `${short(q, 2)} GPUs`]) : [['GPUs', '0']]).concat(
          t.allocation.meters
            .filter((m) => m.meter !== 'gpu_hours')
            .map((m) => [m.meter.replace(/_hours$/, ''), `${short(m.quantity, 2)} ${m.unit}`]),
        ),
      ),
    );
    card.append(el('h4', { text: 'GPU-hours this period' }));
    const skus = Object.entries(t.gpu_hours_by_sku);
    const gpuList = el('dl');
    for (const [sku, q] of skus) {
      gpuList.append(
        el('dt', { text: sku }),
        el('dd', { 'data-testid': 'gpu-hours', 'data-sku': sku, 'data-value': q, text: short(q) }),
      );
    }
    if (skus.length === 0) gpuList.append(el('dt', { text: 'none' }), el('dd', { text: '0' }));
    card.append(gpuList);
    card.append(el('h4', { text: 'Usage this period' }));
    card.append(
      dl(t.usage.filter((u) => u.meter !== 'gpu_hours').map((u) => [u.meter, `${short(u.quantity)} ${u.unit}`])),
    );
    if (t.budget) {
      const pct = Number(t.budget.percent_used);
      // Through the CSSOM: the page's CSP refuses style="…" attributes.
      const fill = el('span');
      fill.style.width = `${Math.min(pct, 100)}%`;
      const bar = el('div', { class: pct >= 100 ? 'budget over' : pct >= 80 ? 'budget warn' : 'budget' }, [fill]);
      card.append(el('h4', { text: `Budget: ${t.budget.percent_used} % of ${t.budget.amount} ${currency}` }), bar);
    }
    return card;
  }

  function renderTenants(data) {
    if (data.as_of === null) {
      $('status').textContent = 'no closed window yet';
      return;
    }
    $('status').textContent =
      `data up to ${data.as_of} · period ${data.period.from.slice(0, 10)} – ${data.period.to.slice(0, 10)} · refresh every ${refreshMs / 1000} s`;
    $('allocation-note').textContent =
      `Current allocation is the average held over the last closed windows (${data.allocation_window.from} – ${data.allocation_window.to}): usage in that range ÷ its length.` +
      (data.currency
        ? ` Cost is the accrued estimate this period in ${data.currency} (committed usage at the committed rate).`
        : '');
    const cards = data.tenants.map((t) => tenantCard(t, data.currency || ''));
    $('tenants').replaceChildren(...cards);
    const gpuTotal = Object.values(data.totals.gpu_hours_by_sku).reduce((a, q) => a + Number(q), 0);
    const gpusNow = Object.values(data.totals.allocation.gpus_by_sku).reduce((a, q) => a + Number(q), 0);
    const stats = [
      ['tenants', String(data.tenants.filter((t) => !t.unattributed).length), 'total-tenants'],
      ['GPUs held now', short(gpusNow, 2), 'total-gpus-now'],
      ['GPU-hours', short(gpuTotal), 'total-gpu-hours'],
    ];
    if (data.totals.cost !== null) stats.push([`estimated cost (${data.currency})`, data.totals.cost, 'total-cost']);
    $('totals').replaceChildren(
      ...stats.map(([label, value, id]) =>
        el('div', { class: 'stat' }, [el('b', { text: value, 'data-testid': id }), el('span', { text: label })]),
      ),
    );
  }

  function renderChart(data) {
    const skus = Object.keys(data.skus);
    const table = $('chart-table');
    table.replaceChildren(el('tr', {}, [el('th', { text: 'GPU SKU' }), el('th', { text: 'GPU-hours in range' })]));
    for (const sku of skus) {
      const sum = data.skus[sku].reduce((a, q) => a + Number(q), 0);
      table.append(
        el('tr', { 'data-testid': 'chart-row', 'data-sku': sku }, [
          el('td', { text: sku }),
          el('td', { class: 'num', text: short(sum) }),
        ]),
      );
    }
    const xs = data.buckets.map((b) => Date.parse(b) / 1000);
    const series = [{}].concat(
      skus.map((sku, i) => ({
        label: sku,
        stroke: PALETTE[i % PALETTE.length],
        width: 2,
        value: (u, v) => (v == null ? '' : v.toFixed(3)),
      })),
    );
    const rows = [xs].concat(skus.map((sku) => data.skus[sku].map(Number)));
    const host = $('chart');
    host.dataset.points = String(xs.length);
    host.dataset.series = String(skus.length);
    const width = Math.max(host.clientWidth - 16, 400);
    if (chart) chart.destroy();
    chart = new uPlot(
      {
        width,
        height: 300,
        series,
        axes: [{}, { label: `GPU-hours per ${data.bucket_ms >= 86400000 ? 'day' : 'hour'}` }],
        scales: { x: { time: true } },
      },
      rows,
      host,
    );
  }

  function renderUnattributed(data) {
    const t = $('unattributed');
    t.replaceChildren(
      el(
        'tr',
        {},
        ['meter', 'attributes', 'quantity', 'unit'].map((h) => el('th', { text: h })),
      ),
    );
    for (const s of data.series) {
      const attrs = Object.entries(s.attributes)
        .map(([k, v]) => `${k}=${v}`)
        .join(', ');
      t.append(
        el('tr', {}, [
          el('td', { text: s.meter }),
          el('td', { text: attrs }),
          el('td', { class: 'num', text: short(s.quantity) }),
          el('td', { text: s.unit }),
        ]),
      );
    }
    if (data.series.length === 0)
      t.append(el('tr', {}, [el('td', { text: 'nothing unattributed this period', colspan: '4' })]));
  }

  function renderJobs(data) {
    const t = $('jobs');
    t.replaceChildren(
      el(
        'tr',
        {},
        [
          'tenant',
          'job',
          'outcome',
          'start',
          'duration (s)',
          'GPUs',
          'GPU-s billed',
          'GPU-s credited',
          'GPU util (%)',
          'peak GPU mem (GiB)',
        ].map((h) => el('th', { text: h })),
      ),
    );
    for (const j of data.jobs) {
      t.append(
        el('tr', { 'data-testid': 'job-row' }, [
          el('td', { text: j.tenant }),
          el('td', { text: `${j.namespace}/${j.job}` }),
          el('td', {
            class: j.outcome === 'succeeded' ? 'ok' : 'bad',
            text: j.end_reason ? `${j.outcome} (${j.end_reason})` : j.outcome,
          }),
          el('td', { text: j.start }),
          el('td', { class: 'num', text: short(j.duration_seconds) }),
          el('td', { text: j.gpu }),
          el('td', { class: 'num', text: short(j.billed_gpu_seconds) }),
          el('td', { class: 'num', text: short(j.credit_gpu_seconds) }),
          el('td', { class: 'num', text: j.avg_utilization ? short(j.avg_utilization) : '' }),
          el('td', { class: 'num', text: j.peak_vram_gb ? short(j.peak_vram_gb) : '' }),
        ]),
      );
    }
    if (data.jobs.length === 0) t.append(el('tr', {}, [el('td', { text: 'no finished jobs', colspan: '10' })]));
  }

  function renderDelivery(data) {
    const t = $('delivery');
    t.replaceChildren(
      el(
        'tr',
        {},
        ['exporter', 'lag (records)', 'dead letters', 'last delivered', 'last error'].map((h) => el('th', { text: h })),
      ),
    );
    for (const e of data.exporters) {
      t.append(
        el('tr', { 'data-testid': 'exporter-row', 'data-exporter': e.exporter }, [
          el('td', { text: e.exporter }),
          el('td', { class: e.lag > 0 ? 'num bad' : 'num ok', text: String(e.lag) }),
          el('td', { class: e.dead_letters > 0 ? 'num bad' : 'num ok', text: String(e.dead_letters) }),
          el('td', { text: e.last_delivered_at || '—' }),
          el('td', {
            class: e.last_error ? 'bad' : '',
            text: e.last_error ? `${e.last_error} (${e.last_error_at})` : '—',
          }),
        ]),
      );
    }
    if (data.exporters.length === 0)
      t.append(el('tr', {}, [el('td', { text: 'no exporter registered', colspan: '5' })]));
  }

  /** Receivers' sync and, for tenant clusters, the ones not synced (unreachable, refused, missing). */
  function renderReceivers(data) {
    const t = $('receivers');
    t.replaceChildren(
      el(
        'tr',
        {},
        ['receiver', 'synced', 'tenant clusters'].map((h) => el('th', { text: h })),
      ),
    );
    for (const r of data.receivers || []) {
      const clusters = r.detail && r.detail.tenant_clusters;
      const degraded = clusters ? clusters.degraded : [];
      const text = clusters
        ? `${clusters.synced} synced` +
          (degraded.length > 0
            ? `; not synced: ${degraded.map((d) => `${d.tenant} (${d.state}${d.error ? `: ${d.error}` : ''})`).join(', ')}`
            : '')
        : '—';
      t.append(
        el('tr', { 'data-testid': 'receiver-row', 'data-receiver': r.id }, [
          el('td', { text: r.id }),
          el('td', { class: r.synced ? 'ok' : 'bad', text: r.synced ? 'yes' : 'no' }),
          el('td', { class: degraded.length > 0 ? 'bad' : '', text }),
        ]),
      );
    }
    if (!data.receivers || data.receivers.length === 0)
      t.append(el('tr', {}, [el('td', { text: 'no receiver running (a stored run is shown)', colspan: '3' })]));
  }

  async function get(path) {
    const res = await fetch(path, { cache: 'no-store' });
    if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
    return res.json();
  }

  async function refresh() {
    try {
      const [tenants, gpu, unattributed, delivery, jobs] = await Promise.all([
        get('/api/tenants'),
        get('/api/gpu-hours-by-sku'),
        get('/api/unattributed'),
        get('/api/delivery'),
        get('/api/jobs').catch(() => ({ jobs: [] })),
      ]);
      renderTenants(tenants);
      renderChart(gpu);
      renderUnattributed(unattributed);
      renderJobs(jobs);
      renderDelivery(delivery);
      renderReceivers(delivery);
      document.body.dataset.loaded = String(Number(document.body.dataset.loaded || '0') + 1);
    } catch (err) {
      $('status').textContent = `refresh failed: ${err.message}`;
    }
  }

  get('/api/config')
    .then((c) => {
      refreshMs = c.refresh_ms;
    })
    .catch(() => undefined)
    .then(refresh)
    .then(() => setInterval(refresh, refreshMs));
})();
