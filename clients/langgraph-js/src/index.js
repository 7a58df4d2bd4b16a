// EngramStore: a LangGraph BaseStore (from @langchain/langgraph) whose
// storage is engram, long-term memory for agents on PostgreSQL.
//
// Every item is one engram memory in the store's space, written with
// engram.put under its key and namespace (engram.get reads it,
// engram.delete_key deletes it): the store never writes the table itself,
// so it works as a tenant holding only a space grant.  Its metadata
// holds the namespace (labels joined with ".", which LangGraph forbids
// inside a label), every namespace prefix, the key, the value and the
// update time; its content is the text that is embedded -- the `index`
// fields of the value (PutOperation.index, or the store's indexFields),
// else the whole value as JSON.  A search with a `query` is engram's
// recall (cosine similarity, activation and confidence make the score),
// restricted to the namespace prefix and filter; without a query, items
// come newest first.  Every batch is one transaction; with `role`, it runs
// as that role (SET LOCAL ROLE, so row-level security applies and the
// role never outlives the batch).  Every SQL name is schema-qualified.

import pg from "pg";
import { BaseStore } from "@langchain/langgraph";

const SEP = ".";
const nsKey = (ns) => ns.join(SEP);
const prefixes = (ns) => ns.map((_, i) => ns.slice(0, i + 1).join(SEP));

function pathMatches(ns, path, atEnd) {
  if (path.length > ns.length) return false;
  const part = atEnd ? ns.slice(ns.length - path.length) : ns.slice(0, path.length);
  return path.every((p, i) => p === "*" || p === part[i]);
}

// label by label, a namespace before its own extensions
function compareNamespaces(a, b) {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  }
  return a.length - b.length;
}

function checkNamespace(ns) {
  if (!Array.isArray(ns) || ns.length === 0) throw new Error("a namespace has at least one label");
  for (const label of ns) {
    if (typeof label !== "string" || label === "" || label.includes(".")) {
      throw new Error(`invalid namespace label ${JSON.stringify(label)}: a non-empty string without "."`);
    }
  }
}

export class EngramStore extends BaseStore {
  /**
   * @param {object} opts
   * @param {pg.Pool} [opts.pool]             a pg pool (or give connectionString)
   * @param {string} [opts.connectionString]
   * @param {string} [opts.space]             engram space of the store ("langgraph")
   * @param {number} [opts.dims]              dimensions of engram.embed_text (384)
   * @param {(texts: string[]) => Promise<number[][]>} [opts.embed]
   *        your embedding function; without it, engram's lexical demo
   *        embedder runs in SQL
   * @param {string[]} [opts.indexFields]     value fields embedded by default
   * @param {string} [opts.role]              role every batch runs as
   */
  constructor(opts = {}) {
    super();
    this.ownPool = !opts.pool;
    this.pool = opts.pool ?? new pg.Pool({ connectionString: opts.connectionString });
    this.space = opts.space ?? "langgraph";
    this.dims = opts.dims ?? 384;
    this.embed = opts.embed ?? null;
    this.indexFields = opts.indexFields ?? null;
    this.role = opts.role ?? null;
  }

  /** Create the store's space when it does not exist yet. */
  async setup() {
    await this.pool.query(
      "SELECT engram.create_space($1) WHERE NOT EXISTS (SELECT 1 FROM engram.space WHERE name OPERATOR(pg_catalog.=) $1)",
      [this.space]);
  }

  async end() {
    if (this.ownPool) await this.pool.end();
  }

  async batch(operations) {
    const client = await this.pool.connect();
    try {
      await client.query("BEGIN");
      if (this.role) await client.query("SELECT pg_catalog.set_config('role', $1, true)", [this.role]);
      const results = [];
      for (const op of operations) {
        if ("value" in op) {
          await this.#put(client, op);
          results.push(undefined);
        } else if ("namespacePrefix" in op) {
          results.push(await this.#search(client, op));
        } else if ("key" in op) {
          results.push(await this.#get(client, op));
        } else {
          results.push(await this.#listNamespaces(client, op));
        }
      }
      await client.query("COMMIT");
      return results;
    } catch (e) {
      await client.query("ROLLBACK").catch(() => {});
      throw e;
    } finally {
      client.release();
    }
  }

  static #item(row, score) {
    const md = row.metadata;
    const item = {
      namespace: md.lg_ns.split(SEP), key: md.lg_key, value: md.value,
      createdAt: new Date(row.created_at), updatedAt: new Date(md.lg_updated_at),
    };
    if (score !== undefined) item.score = score;
    return item;
  }

  // items written by stores before 0.2.0: a memory without a key, found by
  // its metadata (reading needs only SELECT)
  async #legacy(client, namespace, key) {
    const r = await client.query(
      "SELECT m.id, m.metadata, m.created_at FROM engram.memory m" +
      " WHERE m.space OPERATOR(pg_catalog.=) $1 AND m.key IS NULL" +
      " AND m.metadata OPERATOR(pg_catalog.@>) $2::pg_catalog.jsonb ORDER BY m.id",
      [this.space, JSON.stringify({ lg_ns: nsKey(namespace), lg_key: key })]);
    return r.rows;
  }

  async #get(client, op) {
    const r = await client.query(
      "SELECT g.id, g.metadata, g.created_at FROM engram.get($1, $2, $3::pg_catalog.text[]) g",
      [this.space, op.key, op.namespace]);
    const row = r.rows[0] ?? (await this.#legacy(client, op.namespace, op.key))[0] ?? null;
    return row ? EngramStore.#item(row) : null;
  }

  #text(value, index) {
    const fields = index === undefined || index === null ? this.indexFields : index;
    if (fields) {
      const text = fields.map((f) => value[f]).filter((v) => v !== undefined && v !== null)
        .map((v) => (typeof v === "string" ? v : JSON.stringify(v))).join(" ");
      if (text.trim() !== "") return text;
    }
    return JSON.stringify(value);
  }

  // the SQL of the vector for `text`, its parameter appended to params
  async #embeddingSql(text, params) {
    if (this.embed) {
      const [v] = await this.embed([text]);
      params.push(v.map(Number));
      return `$${params.length}::pg_catalog.float8[]::engram.vector`;
    }
    params.push(text, this.dims);
    return `engram.embed_text($${params.length - 1}, $${params.length})`;
  }

  async #put(client, op) {
    const { namespace, key, value } = op;
    if (value !== null) checkNamespace(namespace);
    if (value !== null && (typeof value !== "object" || Array.isArray(value))) {
      throw new TypeError("a store value is an object");
    }
    // only engram's write functions (engram.put / delete_key / forget): a
    // tenant holds no INSERT, UPDATE or DELETE on engram.memory
    for (const old of await this.#legacy(client, namespace, key)) {
      // an item of a store before 0.2.0 moves to a keyed memory
      await client.query("SELECT engram.forget($1::pg_catalog.int8)", [old.id]);
    }
    if (value === null) {
      await client.query("SELECT engram.delete_key($1, $2, $3::pg_catalog.text[])",
        [this.space, key, namespace]);
      return;
    }
    const metadata = {
      lg_ns: nsKey(namespace), lg_prefixes: prefixes(namespace), lg_key: key, value,
      lg_updated_at: new Date().toISOString(),
    };
    const content = this.#text(value, op.index === false ? null : op.index);
    const params = [content, JSON.stringify(metadata), this.space, key, namespace];
    const emb = op.index === false ? "NULL::engram.vector" : await this.#embeddingSql(content, params);
    await client.query(
      `SELECT engram.put(space => $3, key => $4, content => $1, embedding => ${emb},` +
      " metadata => $2::pg_catalog.jsonb, namespace => $5::pg_catalog.text[])", params);
  }

  async #search(client, op) {
    const limit = op.limit ?? 10;
    const offset = op.offset ?? 0;
    const match = {};
    if (op.namespacePrefix.length > 0) match.lg_prefixes = [nsKey(op.namespacePrefix)];
    if (op.filter) match.value = op.filter;
    if (op.query) {
      // recall has no metadata filter: ask for more candidates, keep the
      // matching ones; record no access (it would touch dropped rows too)
      const params = [];
      const cue = await this.#embeddingSql(op.query, params);
      params.push(Math.min(10 * (offset + limit), 10000), this.space, JSON.stringify(match), limit, offset);
      const n = params.length;
      const r = await client.query(
        `SELECT r.id, r.score, r.metadata, r.created_at FROM engram.recall(cue => ${cue},` +
        ` k => $${n - 4}, space => $${n - 3}, record_access => false) r` +
        ` WHERE r.metadata OPERATOR(pg_catalog.@>) $${n - 2}::pg_catalog.jsonb` +
        ` ORDER BY r.score DESC, r.id LIMIT $${n - 1} OFFSET $${n}`, params);
      return r.rows.map((row) => EngramStore.#item(row, Number(row.score)));
    }
    const r = await client.query(
      "SELECT m.id, m.metadata, m.created_at FROM engram.memory m" +
      " WHERE m.space OPERATOR(pg_catalog.=) $1 AND m.metadata OPERATOR(pg_catalog.?) 'lg_key'" +
      " AND m.metadata OPERATOR(pg_catalog.@>) $2::pg_catalog.jsonb" +
      " ORDER BY m.metadata OPERATOR(pg_catalog.->>) 'lg_updated_at' DESC, m.id DESC LIMIT $3 OFFSET $4",
      [this.space, JSON.stringify(match), limit, offset]);
    return r.rows.map((row) => EngramStore.#item(row, undefined));
  }

  async #listNamespaces(client, op) {
    const r = await client.query(
      "SELECT DISTINCT m.metadata OPERATOR(pg_catalog.->>) 'lg_ns' AS ns FROM engram.memory m" +
      " WHERE m.space OPERATOR(pg_catalog.=) $1 AND m.metadata OPERATOR(pg_catalog.?) 'lg_ns'",
      [this.space]);
    let nss = r.rows.map((row) => row.ns.split(SEP));
    for (const c of op.matchConditions ?? []) {
      nss = nss.filter((ns) => pathMatches(ns, c.path, c.matchType === "suffix"));
    }
    if (op.maxDepth !== undefined && op.maxDepth !== null) nss = nss.map((ns) => ns.slice(0, op.maxDepth));
    const unique = [...new Map(nss.map((ns) => [JSON.stringify(ns), ns])).values()];
    unique.sort(compareNamespaces);
    const offset = op.offset ?? 0;
    return unique.slice(offset, offset + (op.limit ?? 100));
  }
}
