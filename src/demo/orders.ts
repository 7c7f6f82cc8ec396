import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { type Dataset, defineDataset } from '../datasets/define.js';

export const DEMO_ROWS = 200_000;

const FIRST = [
  'Ana',
  'Björn',
  'Chloé',
  'Dmitri',
  'Émile',
  'Fatima',
  'Günther',
  'Hana',
  'Ivan',
  'José',
  'Kenji',
  'Léa',
  'Mia',
  'Noor',
  'Olek',
  'Priya',
  'Quentin',
  'Rūta',
  'Søren',
  'Zoë',
];
const LAST = [
  'Anderson',
  "O'Brien",
  'García',
  'Müller',
  'Nowak',
  'Rossi',
  'Silva',
  'Tanaka',
  'Van der Berg',
  'Yılmaz',
];
const COUNTRIES = ['US', 'GB', 'DE', 'FR', 'ES', 'IT', 'NL', 'SE', 'PL', 'JP', 'BR', 'IN'];
const NOTES = [
  'Leave at the door',
  'Gift, no invoice in the parcel',
  'Customer says "urgent", call first',
  'Two boxes,\nsecond one fragile',
  '=HYPERLINK("http://example.test","click")',
  '+49 30 1234567 (reception)',
  '  padded note  ',
  '📦 Express 🚀',
];

/** Creates the demo database (once) and returns its path. Deterministic: same rows every time. */
export function ensureDemoDatabase(dataDir: string, rows = DEMO_ROWS): string {
  const path = join(dataDir, 'demo.sqlite');
  if (existsSync(path)) return path;
  mkdirSync(dataDir, { recursive: true, mode: 0o700 }); // private, like every directory Takeout makes
  const temp = `${path}.${process.pid}.tmp`;
  rmSync(temp, { force: true });
  const db = new Database(temp);
  db.exec(`CREATE TABLE orders (
    id INTEGER PRIMARY KEY,
    order_no TEXT NOT NULL,
    customer TEXT NOT NULL,
    email TEXT NOT NULL,
    country TEXT NOT NULL,
    amount DECIMAL(12,2) NOT NULL,
    quantity INTEGER NOT NULL,
    unit_price REAL NOT NULL,
    paid BOOLEAN NOT NULL,
    order_date DATE NOT NULL,
    shipped_at DATETIME,
    details JSON,
    note TEXT
  );
  CREATE INDEX orders_date ON orders(order_date);`);
  const insert = db.prepare('INSERT INTO orders VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
  let x = 2463534242;
  const next = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
  const start = Date.UTC(2022, 0, 1);
  db.transaction(() => {
    for (let i = 1; i <= rows; i++) {
      const first = FIRST[next() % FIRST.length]!;
      const last = LAST[next() % LAST.length]!;
      const quantity = (next() % 20) + 1;
      const cents = (next() % 50000) + 99;
      const ordered = start + (next() % (3 * 365 * 24 * 3600)) * 1000;
      const shipped = next() % 5 === 0 ? null : new Date(ordered + (next() % (5 * 24 * 3600)) * 1000);
      const noteRoll = next() % 16;
      insert.run(
        i,
        `ORD-${String(i).padStart(7, '0')}`,
        next() % 50 === 0 ? `${last}, ${first}` : `${first} ${last}`,
        `${first
          .toLowerCase()
          .normalize('NFD')
          .replace(/[^a-z]/g, '')}.${i}@example.test`,
        COUNTRIES[next() % COUNTRIES.length]!,
        ((cents * quantity) / 100).toFixed(2),
        quantity,
        cents / 100,
        next() % 4 === 0 ? 0 : 1,
        new Date(ordered).toISOString().slice(0, 10),
        shipped ? shipped.toISOString().replace('T', ' ').slice(0, 19) : null,
        JSON.stringify({ channel: next() % 2 ? 'web' : 'store', items: quantity }),
        noteRoll < NOTES.length ? NOTES[noteRoll] : null,
      );
    }
  })();
  db.close();
  renameSync(temp, path);
  return path;
}

/** The demo dataset, defined the way applications define theirs. */
export function demoOrdersDataset(databasePath: string): Dataset {
  return defineDataset({
    name: 'orders',
    title: 'Orders (demo)',
    description: `${DEMO_ROWS.toLocaleString('en-US')} generated orders, 2022–2024`,
    connection: { sqlite: databasePath },
    sql: `SELECT id, order_no, customer, email, country, amount, quantity, unit_price, paid,
                 order_date, shipped_at, details, note
            FROM orders
           WHERE (:from IS NULL OR order_date >= :from)
             AND (:to IS NULL OR order_date <= :to)
             AND (:country IS NULL OR country = :country)
             AND (:min_amount IS NULL OR amount >= :min_amount)
           ORDER BY id`,
    params: {
      from: {
        type: 'date',
        description: 'First order date (inclusive)',
        min: '2000-01-01',
        max: '2100-12-31',
      },
      to: { type: 'date', description: 'Last order date (inclusive)', min: '2000-01-01', max: '2100-12-31' },
      country: { type: 'string', description: 'ISO country code', enum: COUNTRIES },
      min_amount: { type: 'number', description: 'Smallest order amount', min: 0 },
    },
    columns: [
      { key: 'id', header: 'ID', type: 'integer' },
      { key: 'order_no', header: 'Order' },
      { key: 'customer', header: 'Customer' },
      { key: 'email', header: 'Email' },
      { key: 'country', header: 'Country' },
      { key: 'amount', header: 'Amount', type: 'decimal', format: '#,##0.00' },
      { key: 'quantity', header: 'Quantity', type: 'integer' },
      { key: 'unit_price', header: 'Unit price', type: 'number', format: '#,##0.00' },
      { key: 'paid', header: 'Paid', type: 'boolean' },
      { key: 'order_date', header: 'Order date', type: 'date', format: 'yyyy-mm-dd' },
      { key: 'shipped_at', header: 'Shipped at', type: 'datetime' },
      { key: 'details', header: 'Details', type: 'json' },
      { key: 'note', header: 'Note' },
    ],
  });
}
