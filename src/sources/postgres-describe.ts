import type pg from 'pg';

/** What the describe step learns about the query. */
export interface Description {
  fields: pg.FieldDef[];
  /**
   * Per bind parameter (`$1` first): the type OID PostgreSQL deduced for it, one type however
   * often it is used. Empty when the client cannot tell (one that does not speak the protocol
   * in JavaScript, such as pg-native: it never runs COPY either).
   */
  paramOids: number[];
}

/** The part of pg's Connection (pg-protocol messages) the describe query writes with. */
interface ProtocolConnection {
  stream: { cork?: () => void; uncork?: () => void };
  parse(query: { text: string; types: number[] }): void;
  describe(message: { type: 'S' | 'P'; name: string }): void;
  bind(config: { values: unknown[] }): void;
  execute(config: { rows: number }): void;
  sync(): void;
  sendCopyFail(message: string): void;
  on(event: 'parameterDescription', listener: (message: { dataTypeIDs: number[] }) => void): unknown;
  off(event: 'parameterDescription', listener: (message: { dataTypeIDs: number[] }) => void): unknown;
}

/**
 * A pg Submittable that runs `text` with bound `values` as pg's own extended query does
 * (Parse, Bind, Execute, Sync: one round trip) plus a Describe of the statement, whose
 * ParameterDescription tells the type PostgreSQL gave each parameter. pg's Query does not
 * ask for it, and COPY, which cannot take bind parameters, needs it to type its literals
 * exactly as the bound query's parameters (postgres-params.ts). For a query without rows
 * (the `LIMIT 0` describe step): rows are not collected.
 */
class DescribeQuery {
  private fields: pg.FieldDef[] = [];
  private paramOids: number[] = [];
  private connection: ProtocolConnection | undefined;
  private resolve: (description: Description) => void = () => {};
  private reject: (error: unknown) => void = () => {};
  readonly done = new Promise<Description>((resolve, reject) => {
    this.resolve = resolve;
    this.reject = reject;
  });
  // pg's Client does not route ParameterDescription to the query: it is heard on the connection.
  private readonly onParams = (message: { dataTypeIDs: number[] }) => {
    this.paramOids = [...message.dataTypeIDs];
  };

  constructor(
    readonly text: string,
    private readonly values: unknown[],
  ) {}

  submit(connection: ProtocolConnection): null {
    this.connection = connection;
    connection.on('parameterDescription', this.onParams);
    connection.stream.cork?.();
    try {
      connection.parse({ text: this.text, types: [] });
      connection.describe({ type: 'S', name: '' }); // ParameterDescription, RowDescription
      connection.bind({ values: this.values });
      connection.execute({ rows: 0 });
      connection.sync();
    } finally {
      connection.stream.uncork?.();
    }
    return null;
  }

  handleRowDescription(message: { fields: pg.FieldDef[] }): void {
    this.fields = message.fields;
  }
  handleDataRow(): void {}
  handleCommandComplete(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}
  handleCopyData(): void {}
  handleCopyInResponse(connection: ProtocolConnection): void {
    connection.sendCopyFail('takeout: no COPY FROM in an export');
  }
  handleError(error: unknown): void {
    this.connection?.off('parameterDescription', this.onParams);
    this.reject(error);
  }
  handleReadyForQuery(): void {
    this.connection?.off('parameterDescription', this.onParams);
    this.resolve({ fields: this.fields, paramOids: this.paramOids });
  }
}

/** Whether `client` writes protocol messages in JavaScript (not pg-native). */
function speaksProtocol(client: pg.ClientBase): boolean {
  const connection = (client as unknown as { connection?: Partial<ProtocolConnection> }).connection;
  return typeof connection?.describe === 'function' && typeof connection.on === 'function';
}

/**
 * Runs `text` with `values` bound (array rows, none expected) and returns its fields and the
 * deduced type of each parameter, in the one round trip the query takes anyway.
 */
export async function describeQuery(
  client: pg.ClientBase,
  text: string,
  values: unknown[],
): Promise<Description> {
  if (!speaksProtocol(client)) {
    const result = await client.query({ text, values, rowMode: 'array' });
    return { fields: result.fields, paramOids: [] };
  }
  const query = new DescribeQuery(text, values);
  client.query(query as unknown as pg.Submittable);
  return query.done;
}
