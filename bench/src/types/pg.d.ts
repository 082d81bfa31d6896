/**
 * The few parts of `pg` (node-postgres 8) the bench uses directly; the
 * package ships no types and @types/pg is not a dependency here.
 */
declare module "pg" {
  export interface ClientConfig {
    connectionString?: string;
    connectionTimeoutMillis?: number;
  }
  export interface QueryResult<R> {
    rows: R[];
  }
  export class Client {
    constructor(config?: ClientConfig);
    connect(): Promise<void>;
    query<R = Record<string, unknown>>(text: string, values?: unknown[]): Promise<QueryResult<R>>;
    end(): Promise<void>;
    on(event: "error", listener: (error: Error) => void): this;
  }
  const pg: { Client: typeof Client };
  export default pg;
}
