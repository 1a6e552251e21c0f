// The one way to call the gateway: JSON, bearer token from sessionStorage,
// errors as ApiError carrying the server's {code, message, field, rule}.

import { rememberNames } from "./i18n.js";

const TOKEN_KEY = "pg.token";
const SESSION_KEY = "pg.session";

export class ApiError extends Error {
  constructor(status, error, path) {
    super(error?.message || `HTTP ${status}`);
    this.status = status;
    this.code = error?.code || "http_error";
    this.field = error?.field ?? null;
    this.rule = error?.rule ?? null;
    this.path = path;
  }

  /** The route itself does not exist (yet): 405, or 404 for the route rather than a record. */
  get unavailable() {
    return this.status === 405 || (this.status === 404 && this.field === null && this.code === "not_found"
      && /no such route/i.test(this.message));
  }
}

export const session = {
  get token() { return sessionStorage.getItem(TOKEN_KEY); },
  get info() {
    try { return JSON.parse(sessionStorage.getItem(SESSION_KEY)) || null; } catch { return null; }
  },
  get actor() { return this.info?.actor || null; },
  start(username, login) {
    sessionStorage.setItem(TOKEN_KEY, login.token);
    sessionStorage.setItem(SESSION_KEY, JSON.stringify({ username, actor: login.actor, expires_at: login.expires_at }));
  },
  clear() {
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(SESSION_KEY);
    memberCache.clear();
  },
  hasRole(...roles) { return (this.actor?.roles || []).some((r) => roles.includes(r)); },
};

let onUnauthorized = () => {};
export function setUnauthorizedHandler(fn) { onUnauthorized = fn; }

export async function api(path, { method = "GET", body, query } = {}) {
  let url = `/api/v1${path}`;
  if (query) {
    const qs = new URLSearchParams(Object.entries(query).filter(([, v]) => v !== undefined && v !== null && v !== ""));
    if ([...qs].length) url += `?${qs}`;
  }
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (session.token) headers.Authorization = `Bearer ${session.token}`;
  let response;
  try {
    response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, { code: "network", message: "network" }, path);
  }
  const payload = await response.json().catch(() => ({}));
  if (!response.ok) {
    const err = new ApiError(response.status, payload.error, path);
    if (response.status === 401 && session.token && path !== "/auth/login") {
      session.clear();
      onUnauthorized(err);
    }
    throw err;
  }
  return payload;
}

/** Download what a route answers (not JSON: a calendar, an export) as a file, with the session's token. */
export async function download(path, filename) {
  const headers = session.token ? { Authorization: `Bearer ${session.token}` } : {};
  let response;
  try {
    response = await fetch(`/api/v1${path}`, { headers });
  } catch {
    throw new ApiError(0, { code: "network", message: "network" }, path);
  }
  if (!response.ok) {
    const payload = await response.json().catch(() => ({}));
    throw new ApiError(response.status, payload.error, path);
  }
  const url = URL.createObjectURL(await response.blob());
  const a = Object.assign(document.createElement("a"), { href: url, download: filename });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

/** Keyset paging: a list's page as `{ items, more }`; `more()` gives the next page the same way
 * (the answer's `next_cursor` passed back as `cursor`), and is null on the last page. */
export async function listPage(path, query = {}) {
  const answer = await api(path, { query });
  const cursor = answer.next_cursor;
  return { items: answer.items || [], more: cursor ? () => listPage(path, { ...query, cursor }) : null };
}

// ------------------------------------------------------------ the roster (names for person ids)

const memberCache = new Map();
const RANK = { secretary: 0, deputy_secretary: 1, member: 2 };

export async function roster() {
  const org = session.actor?.org_id;
  if (!org) return { n: null, quorum: null, members: [] };
  if (!memberCache.has(org)) {
    memberCache.set(org, api(`/organizations/${encodeURIComponent(org)}/members`).then((r) => ({
      ...r, members: [...r.members].sort((a, b) => (RANK[a.role] ?? 9) - (RANK[b.role] ?? 9)
        || a.person_id.localeCompare(b.person_id, "en", { numeric: true })),
    })));
  }
  try {
    return await memberCache.get(org);
  } catch (err) {
    memberCache.delete(org);
    throw err;
  }
}

/** person_id → display name (the id itself when unknown). */
export async function nameMap() {
  try {
    const r = await roster();
    // staff (office, HR, confidential secretary, inspectors) too: they appear in histories and cases
    const names = new Map([...(r.staff || []), ...r.members].filter((m) => m.name).map((m) => [m.person_id, m.name]));
    rememberNames(names);
    return names;
  } catch {
    return new Map();
  }
}

// ------------------------------------------------------------ things remembered in this browser session

export function remember(listKey, item, idKey) {
  const key = `pg.list.${listKey}`;
  const list = recall(listKey).filter((x) => x[idKey] !== item[idKey]);
  list.unshift(item);
  sessionStorage.setItem(key, JSON.stringify(list.slice(0, 50)));
}

export function recall(listKey) {
  try { return JSON.parse(sessionStorage.getItem(`pg.list.${listKey}`)) || []; } catch { return []; }
}
