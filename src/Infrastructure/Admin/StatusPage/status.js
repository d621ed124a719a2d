// The live status page: reads /api/v1/state every 2 s and draws it. Every text from the daemon goes in through
// textContent or an attribute, never as markup: Service reasons and Event messages are written by whoever may edit a
// Service, and the page must show them, not run them.
'use strict';

(() => {
  const pollEvery = 2000;
  const giveUpAfter = 5000;
  const severity = { failing: 0, invalid: 1, refused: 2, pending: 3, served: 4 };
  const roles = { leading: 'leading: this replica serves', standingBy: 'standing by: another replica serves' };

  const byId = (id) => document.getElementById(id);
  const view = {
    role: byId('role'),
    at: byId('at'),
    updated: byId('updated'),
    banner: byId('banner'),
    main: byId('main'),
    pools: byId('pools').tBodies[0],
    problems: byId('problems'),
    eventsSection: byId('events-section'),
    events: byId('events').tBodies[0],
    services: byId('services'),
    summary: byId('summary'),
    filter: byId('filter'),
    sort: byId('sort'),
    problemsFirst: byId('problems-first'),
  };

  let state = null; // the last state read
  let sample = null; // { at, counters } of that state, for the next rates
  let rates = new Map(); // traffic key -> per-second deltas between the last two states read
  let lastRead = null;
  let failingSince = null;

  // --- building blocks ---

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function cell(row, text, className) {
    return row.appendChild(el('td', className, text));
  }

  function badge(text, kind) {
    return el('span', `badge ${kind}`, text);
  }

  const two = (n) => String(n).padStart(2, '0');
  const clock = (date) => `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}`;
  const day = (date) => `${date.getFullYear()}-${two(date.getMonth() + 1)}-${two(date.getDate())}`;
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

  function bytes(n) {
    let value = n;
    let unit = 0;
    while (value >= 1024 && unit < units.length - 1) {
      value /= 1024;
      unit++;
    }
    return unit === 0 ? `${Math.round(n)} B` : `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
  }

  // Pool sizes of IPv6 prefixes pass 2^53; past that only the magnitude is worth reading.
  const count = (n) => (n >= 1e15 ? n.toExponential(2) : n.toLocaleString('en-US'));
  const perSecond = (n) => (n === 0 ? '0' : n < 10 ? n.toFixed(1) : String(Math.round(n)));
  const fullName = (service) => `${service.namespace}/${service.name}`;
  const health = (backend) => backend.health || 'unknown';

  // --- reading the state ---

  function normalise(next) {
    next.pools = next.pools || [];
    next.services = next.services || [];
    for (const service of next.services) {
      service.ports = service.ports || [];
      for (const port of service.ports) port.backends = port.backends || [];
    }
    return next;
  }

  function trafficKey(service, port, backend) {
    const key = `${fullName(service)} ${port.protocol}/${port.port}`;
    return backend ? `${key} ${backend.address}` : key;
  }

  function counters(next) {
    const found = new Map();
    for (const service of next.services) {
      for (const port of service.ports) {
        if (port.traffic) found.set(trafficKey(service, port), port.traffic);
        for (const backend of port.backends) {
          if (backend.traffic) found.set(trafficKey(service, port, backend), backend.traffic);
        }
      }
    }
    return found;
  }

  // Rates from two consecutive states, over the daemon's own clock (state.at) rather than the browser's, so that a
  // slow answer does not bend them. A counter that went back belongs to a new listener: no rate for it this time.
  function measure(next) {
    const at = Date.parse(next.at);
    const now = counters(next);
    if (sample && at > sample.at) {
      const seconds = (at - sample.at) / 1000;
      const delta = (after, before) => (after >= before ? (after - before) / seconds : null);
      const fresh = new Map();
      for (const [key, traffic] of now) {
        const before = sample.counters.get(key);
        if (!before) continue;
        fresh.set(key, {
          connections: delta(traffic.connectionsOpened, before.connectionsOpened),
          fromClient: delta(traffic.bytesFromClient, before.bytesFromClient),
          fromBackend: delta(traffic.bytesFromBackend, before.bytesFromBackend),
        });
      }
      rates = fresh;
    }
    sample = { at, counters: now };
  }

  function isProblem(service) {
    return service.state !== 'served' || Boolean(service.reason) ||
      service.ports.some((port) => port.fallingBack || port.backends.some((backend) => backend.health && backend.health !== 'healthy'));
  }

  function totals(service) {
    let open = 0;
    let moved = 0;
    for (const port of service.ports) {
      if (!port.traffic) continue;
      open += port.traffic.connectionsActive;
      moved += port.traffic.bytesFromClient + port.traffic.bytesFromBackend;
    }
    return { open, moved };
  }

  // Sortable text for an address: IPv4 before IPv6, each in numeric order; none last.
  function ipKey(ip) {
    if (!ip) return '2';
    if (!ip.includes(':')) return `0${ip.split('.').map((part) => part.padStart(3, '0')).join('.')}`;
    const [head, tail = ''] = ip.split('::');
    const left = head ? head.split(':') : [];
    const right = tail ? tail.split(':') : [];
    const groups = ip.includes('::') ? [...left, ...Array(8 - left.length - right.length).fill('0'), ...right] : left;
    return `1${groups.map((group) => group.padStart(4, '0')).join(':')}`;
  }

  const ordinal = (a, b) => (a < b ? -1 : a > b ? 1 : 0);
  const orders = {
    name: () => 0,
    ip: (a, b) => ordinal(ipKey(a.ip), ipKey(b.ip)),
    state: (a, b) => (severity[a.state] ?? 9) - (severity[b.state] ?? 9),
    connections: (a, b) => totals(b).open - totals(a).open,
    bytes: (a, b) => totals(b).moved - totals(a).moved,
  };

  function arrange(services) {
    const needle = view.filter.value.trim().toLowerCase();
    const order = orders[view.sort.value] || orders.name;
    const problemsFirst = view.problemsFirst.checked;
    return services
      .filter((service) => !needle || fullName(service).toLowerCase().includes(needle))
      .map((service) => ({ service, problem: isProblem(service) }))
      .sort((a, b) => (problemsFirst ? Number(b.problem) - Number(a.problem) : 0) ||
        order(a.service, b.service) || ordinal(fullName(a.service), fullName(b.service)));
  }

  // --- drawing ---

  function drawHeader() {
    view.role.textContent = Object.hasOwn(roles, state.role) ? roles[state.role] : String(state.role);
    view.role.className = `role ${Object.hasOwn(roles, state.role) ? state.role : ''}`;
    const at = new Date(state.at);
    view.at.textContent = Number.isNaN(at.getTime()) ? '' : `state at ${day(at)} ${clock(at)}`;
    view.updated.textContent = lastRead ? `· updated ${clock(lastRead)}` : '';
  }

  function drawPools() {
    const rows = state.pools.map((pool) => {
      const row = el('tr');
      const name = row.appendChild(el('th', null, pool.name));
      name.scope = 'row';
      cell(row, pool.addresses, 'mono');
      cell(row, count(pool.used), 'num');
      cell(row, count(pool.free), 'num');
      const meter = el('meter');
      meter.min = 0;
      meter.max = pool.size > 0 ? pool.size : 1;
      meter.value = pool.used;
      // Green while a quarter is left, amber to the last tenth, red then.
      meter.low = meter.max * 0.75;
      meter.high = meter.max * 0.9;
      meter.optimum = 0;
      meter.title = `${count(pool.used)} of ${count(pool.size)} addresses in use`;
      meter.setAttribute('aria-label', meter.title);
      cell(row).appendChild(meter);
      return row;
    });
    view.pools.replaceChildren(...rows);
  }

  function drawProblems() {
    const items = [];
    const troubled = state.services
      .filter((service) => service.state !== 'served' || service.reason || service.ports.some((port) => port.fallingBack))
      .sort((a, b) => orders.state(a, b) || ordinal(fullName(a), fullName(b)));
    for (const service of troubled) {
      const item = el('li');
      item.dataset.service = fullName(service);
      item.appendChild(badge(service.state, `state-${service.state}`));
      item.appendChild(el('span', 'name', fullName(service)));
      const falling = service.ports.filter((port) => port.fallingBack).map((port) => `${port.protocol}/${port.port}`);
      const why = service.reason || (falling.length > 0
        ? `no backend of ${falling.join(', ')} is healthy: connections go to the unhealthy ones`
        : 'waiting to be reconciled');
      item.appendChild(el('span', 'why', why));
      items.push(item);
    }
    if (items.length === 0) items.push(el('li', 'muted', 'None: every Service is served as asked.'));
    view.problems.replaceChildren(...items);
  }

  function drawEvents() {
    // state.events is newer than v1's first fields: a daemon without it shows no Events section.
    if (!Array.isArray(state.events)) {
      view.eventsSection.hidden = true;
      return;
    }
    view.eventsSection.hidden = false;
    const rows = state.events.map((event) => {
      const row = el('tr');
      const at = new Date(event.at);
      const time = cell(row, Number.isNaN(at.getTime()) ? event.at : clock(at), 'num');
      time.title = String(event.at);
      cell(row, `${event.namespace}/${event.name}`);
      // The type as the reason's colour (warnings amber), and as words for a screen reader.
      const warning = event.type === 'warning';
      const reason = cell(row).appendChild(badge(event.reason, warning ? 'type-warning' : 'type-normal'));
      reason.prepend(el('span', 'hidden-text', `${event.type}: `));
      reason.title = String(event.type);
      cell(row, event.message);
      return row;
    });
    if (rows.length === 0) {
      const row = el('tr');
      cell(row, 'No events yet.', 'empty').colSpan = 4;
      rows.push(row);
    }
    view.events.replaceChildren(...rows);
  }

  function trafficCells(row, traffic, key) {
    const columns = ['open', 'opening', 'from-client', 'from-backend'];
    if (!traffic) {
      for (const column of columns) cell(row, '—', `num muted ${column}`);
      return;
    }
    const rate = rates.get(key);
    const open = cell(row, count(traffic.connectionsActive), 'num open');
    open.title = `${count(traffic.connectionsOpened)} opened, ${count(traffic.connectionsFailed)} failed, ${count(traffic.connectionsRejected)} rejected`;
    cell(row, rate && rate.connections !== null ? perSecond(rate.connections) : '–', 'num opening');
    const moved = [[traffic.bytesFromClient, rate && rate.fromClient], [traffic.bytesFromBackend, rate && rate.fromBackend]];
    moved.forEach(([total, speed], i) => {
      const td = cell(row, bytes(total), `num ${columns[i + 2]}`);
      if (speed !== undefined && speed !== null) td.appendChild(el('span', 'rate', `${bytes(speed)}/s`));
    });
  }

  function portRow(service, port) {
    const row = el('tr', 'port-row');
    const label = cell(row, `${port.protocol} ${port.port}`, 'port');
    if (!port.forwarded) label.appendChild(el('div', 'muted', 'not forwarded'));
    const healthy = port.backends.filter((backend) => backend.health === 'healthy').length;
    const backends = port.backends.length === 1 ? '1 backend' : `${port.backends.length} backends`;
    cell(row, port.forwarded ? backends : '—', 'muted');
    const summary = cell(row, null, 'health');
    if (port.fallingBack) summary.appendChild(badge('falling back', 'flag-bad'));
    else if (port.backends.some((backend) => backend.health)) summary.textContent = `${healthy} of ${port.backends.length} healthy`;
    trafficCells(row, port.traffic, trafficKey(service, port));
    return row;
  }

  function backendRow(service, port, backend) {
    const row = el('tr', 'backend');
    row.dataset.backend = backend.address;
    cell(row);
    const address = cell(row, backend.address, 'addr');
    if (backend.node) address.appendChild(el('span', 'muted', ` on ${backend.node}`));
    const kind = health(backend);
    const label = kind === 'unknown' ? '—' : kind === 'notReady' ? 'not ready' : kind;
    cell(row, null, 'health').appendChild(badge(label, `health-${kind}`));
    trafficCells(row, backend.traffic, trafficKey(service, port, backend));
    return row;
  }

  function serviceGroup(service, problem) {
    const group = el('tbody', problem ? 'problem' : null);
    group.dataset.service = fullName(service);
    const rows = [];
    for (const port of service.ports) {
      rows.push(portRow(service, port));
      for (const backend of port.backends) rows.push(backendRow(service, port, backend));
    }
    if (rows.length === 0) {
      const row = el('tr');
      cell(row, 'no ports', 'muted').colSpan = 7;
      rows.push(row);
    }

    const head = el('th');
    head.scope = 'rowgroup';
    const title = head.appendChild(el('div', 'svc'));
    title.appendChild(el('span', 'ns', `${service.namespace}/`));
    title.appendChild(el('span', 'name', service.name));
    const tags = head.appendChild(el('div', 'tags'));
    if (service.loadBalancerClass) tags.appendChild(el('span', 'tag', `class ${service.loadBalancerClass}`));
    tags.appendChild(el('span', 'tag', service.sharing === 'keyed' ? `key ${service.sharingKey}` : `${service.sharing} IP`));
    if (service.requestedIp) tags.appendChild(el('span', 'tag', `asks ${service.requestedIp}`));

    const stateCell = el('td');
    stateCell.appendChild(badge(service.state, `state-${service.state}`));
    // A dual-stack Service has two, primary first; older daemons send only ip.
    const ip = el('td', 'ip', (service.ips && service.ips.length ? service.ips.join(', ') : service.ip) || '—');
    for (const node of [head, stateCell, ip]) node.rowSpan = rows.length;
    rows[0].prepend(head, stateCell, ip);
    group.append(...rows);
    // The reason on a line of its own across the table: long, and the first thing to read about this Service.
    if (service.reason) {
      const row = group.appendChild(el('tr', 'reason-row'));
      cell(row, service.reason, 'reason').colSpan = 10;
    }
    return group;
  }

  function drawServices() {
    if (!state) return;
    const shown = arrange(state.services);
    const fragment = document.createDocumentFragment();
    for (const { service, problem } of shown) fragment.appendChild(serviceGroup(service, problem));
    if (shown.length === 0) {
      const group = el('tbody');
      const row = group.appendChild(el('tr'));
      const text = state.services.length === 0 ? 'No Services of type LoadBalancer.' : 'No Service matches the filter.';
      cell(row, text, 'empty').colSpan = 10;
      fragment.appendChild(group);
    }
    for (const old of Array.from(view.services.tBodies)) old.remove();
    view.services.appendChild(fragment);

    const byState = {};
    for (const service of state.services) byState[service.state] = (byState[service.state] || 0) + 1;
    const states = Object.keys(byState).sort((a, b) => (severity[b] ?? 9) - (severity[a] ?? 9)).map((name) => `${byState[name]} ${name}`);
    const problems = shown.filter((entry) => entry.problem).length;
    const text = `${shown.length} of ${state.services.length} shown · ${states.join(', ') || 'none'}` +
      (problems > 0 ? ` · ${problems} with problems shown` : '');
    if (view.summary.textContent !== text) view.summary.textContent = text;
  }

  function draw() {
    drawHeader();
    drawPools();
    drawProblems();
    drawEvents();
    drawServices();
  }

  // --- polling ---

  function accept(next) {
    measure(next);
    state = next;
    lastRead = new Date();
    failingSince = null;
    view.banner.hidden = true;
    view.main.classList.remove('stale');
    draw();
  }

  function unreachable(failure) {
    failingSince = failingSince || new Date();
    const why = failure && failure.message ? failure.message : String(failure);
    const shown = lastRead ? `the page shows the state read at ${clock(lastRead)}` : 'nothing was read yet';
    view.banner.textContent = `Cannot reach the daemon since ${clock(failingSince)} (${why}); ${shown}. Trying again every ${pollEvery / 1000} s.`;
    view.banner.hidden = false;
    view.main.classList.add('stale');
  }

  async function poll() {
    try {
      const response = await fetch('/api/v1/state', {
        cache: 'no-store',
        headers: { Accept: 'application/json' },
        signal: AbortSignal.timeout(giveUpAfter),
      });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const body = await response.json();
      if (!body || body.apiVersion !== 'v1' || !body.state) throw new Error('the answer is not a v1 state');
      accept(normalise(body.state));
    } catch (failure) {
      unreachable(failure);
    } finally {
      setTimeout(poll, pollEvery);
    }
  }

  for (const control of [view.filter, view.sort, view.problemsFirst]) {
    control.addEventListener(control === view.filter ? 'input' : 'change', drawServices);
  }
  poll();
})();
