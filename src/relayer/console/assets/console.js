// The console's only script: htmx's JSON encoding for writes (the admin server takes JSON only),
// copy buttons, the live connection (server-sent events) and the queue chart (uPlot).
(() => {
  // Writes as JSON: the admin server refuses any other body (415), which also keeps a plain HTML
  // form on another site from posting here.
  htmx.defineExtension('json-enc', {
    onEvent(name, evt) {
      if (name === 'htmx:configRequest') evt.detail.headers['Content-Type'] = 'application/json';
    },
    encodeParameters(xhr, parameters) {
      xhr.overrideMimeType('text/json');
      const out = {};
      for (const [k, v] of parameters instanceof FormData ? parameters.entries() : Object.entries(parameters))
        if (v !== '') out[k] = v;
      return JSON.stringify(out);
    },
  });

  document.addEventListener('click', (event) => {
    const button = event.target instanceof Element ? event.target.closest('[data-copy]') : null;
    if (!button) return;
    const value = button.getAttribute('data-copy') || '';
    const done = () => {
      const label = button.textContent;
      button.textContent = 'Copied';
      setTimeout(() => {
        button.textContent = label;
      }, 1200);
    };
    if (navigator.clipboard) navigator.clipboard.writeText(value).then(done, () => undefined);
  });

  const status = document.getElementById('live-status');
  const source = document.body.dataset.live;
  if (source && 'EventSource' in window) {
    // `since`: the journey move this page was rendered with; a move before the stream opens is told at once.
    const since = document.body.dataset.since;
    const events = new EventSource(since ? `${source}?since=${encodeURIComponent(since)}` : source);
    let opened = false;
    events.addEventListener('open', () => {
      if (status) status.textContent = 'live';
      // Back after a drop: what changed meanwhile was not told, so every live part looks again.
      if (opened)
        for (const name of ['requests', 'security', 'workers', 'chains'])
          htmx.trigger(document.body, `${name}-changed`);
      opened = true;
    });
    events.addEventListener('error', () => {
      if (status) status.textContent = 'reconnecting…';
    });
    for (const name of ['requests', 'security', 'workers', 'chains'])
      events.addEventListener(name, () => htmx.trigger(document.body, `${name}-changed`));
    events.addEventListener('sample', (e) => {
      window.dispatchEvent(new CustomEvent('console-sample', { detail: JSON.parse(e.data) }));
    });
  } else if (status) status.textContent = 'not live';

  // The queue chart: the samples of the last 15 minutes, one series per line the page lists.
  const chart = document.getElementById('queue-chart');
  const initial = document.getElementById('chart-data');
  if (chart && initial && window.uPlot) {
    const data = JSON.parse(initial.textContent || '{}');
    const names = data.series || [];
    const columns = [data.t || [], ...names.map((_, i) => (data.values || []).map((row) => row[i]))];
    const colours = ['#1f5fbf', '#b35900', '#2e7d32', '#8e24aa', '#c62828', '#00838f'];
    const dashes = [[], [6, 3], [2, 2], [10, 4, 2, 4], [4, 4], [1, 3]];
    const width = () => Math.max(280, chart.clientWidth);
    const plot = new uPlot(
      {
        width: width(),
        height: 220,
        series: [
          {},
          ...names.map((label, i) => ({
            label,
            stroke: colours[i % colours.length],
            dash: dashes[i % dashes.length],
            width: 2,
          })),
        ],
        axes: [{}, { label: 'jobs' }],
        scales: { x: { time: true } },
      },
      columns,
      chart,
    );
    window.addEventListener('console-sample', (e) => {
      const s = e.detail;
      columns[0].push(s.t);
      names.forEach((name, i) => {
        columns[i + 1].push(s.values[name] ?? null);
      });
      const cutoff = s.t - 15 * 60;
      while (columns[0].length && columns[0][0] < cutoff) for (const c of columns) c.shift();
      plot.setData(columns);
    });
    window.addEventListener('resize', () => plot.setSize({ width: width(), height: 220 }));
  }
})();
