import { describe, expect, it } from 'vitest';
import { trimQuery } from '../../src/sources/postgres-session.js';

describe('trimQuery (the query up to its last token, to be wrapped)', () => {
  it.each([
    ['select 1 as a; -- end', 'select 1 as a'],
    ['select 1 as a;\n-- one\n-- two\n', 'select 1 as a'],
    ['select 1 as a; /* end */ ;\n', 'select 1 as a'],
    ['select 1 as a /* outer /* nested */ still a comment */;', 'select 1 as a'],
    ['select 1 as a -- end\r', 'select 1 as a'],
    ['select 1 as a;;  \n\t', 'select 1 as a'],
    ['select 1 as a', 'select 1 as a'],
    // Comment marks inside quotes are text.
    ["select '--;' as a; -- end", "select '--;' as a"],
    ["select 'it''s /*' as a;", "select 'it''s /*' as a"],
    ["select E'\\' -- ' as a; -- end", "select E'\\' -- ' as a"],
    ['select 1 as "a -- b"; /* x */', 'select 1 as "a -- b"'],
    ['select $$ -- $$ as a; -- end', 'select $$ -- $$ as a'],
    ['select $t$ /* $$ */ $t$ as a;', 'select $t$ /* $$ */ $t$ as a'],
    ['select $1::int as a; -- end', 'select $1::int as a'],
    // A comment ended by CR: what follows is SQL.
    ['select 1 -- c\r, 2 as b;', 'select 1 -- c\r, 2 as b'],
    // Unterminated: kept, for the server to report.
    ['select 1 as a /* open', 'select 1 as a /* open'],
    ["select 'open; -- x", "select 'open; -- x"],
    ['-- only a comment', ''],
  ])('%j', (sql, trimmed) => {
    expect(trimQuery(sql)).toBe(trimmed);
  });
});
