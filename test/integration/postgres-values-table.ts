/**
 * A table of edge and random values of every type the binary COPY decodes or reads as text,
 * for tests that compare the binary COPY reader with the cursor reader value by value. Run
 * after TYPES_SQL (postgres-type-table.ts), whose enum `mood` and domain `posint` it uses.
 */
export const VALUES_SQL = `
  SELECT setseed(0.42);
  CREATE TYPE pair AS (a int, b text);
  CREATE DOMAIN addr AS inet;
  CREATE TABLE edge (id serial PRIMARY KEY, i8 int8, f4 float4, f8 float8, num numeric, d date,
    ts timestamp, tstz timestamptz, tm time, tz timetz, iv interval);
  INSERT INTO edge (i8) VALUES (0), (1), (-1), (9007199254740991), (9007199254740992), (9007199254740993),
    (-9007199254740991), (-9007199254740992), (-9007199254740993), (9223372036854775807),
    (-9223372036854775808), (4294967295), (4294967296), (-4294967296), (-4294967297);
  INSERT INTO edge (i8) SELECT ((random() - 0.5) * 1.8e19)::numeric::int8 FROM generate_series(1, 300);
  INSERT INTO edge (i8) SELECT ((random() - 0.5) * 2e16)::int8 FROM generate_series(1, 300);
  INSERT INTO edge (f4) VALUES ('0'), ('-0'), ('NaN'), ('Infinity'), ('-Infinity'), ('1.4e-45'), ('1.1754944e-38'),
    ('3.4028235e38'), ('-3.4028235e38'), ('0.1'), ('1.1'), ('16777217'), ('1e10'), ('7.038531e-26'), ('9.8e-39');
  INSERT INTO edge (f4) SELECT (power(2::float8, k) * s)::float4 FROM generate_series(-149, 127) k, (VALUES (1), (-1)) v(s);
  INSERT INTO edge (f4) SELECT (power(2::float8, k) * 1.0000001)::float4 FROM generate_series(-126, 127) k;
  INSERT INTO edge (f4) SELECT ((random() - 0.5) * power(10::float8, (random() * 76 - 38)::int))::float4
    FROM generate_series(1, 3000);
  INSERT INTO edge (f8) VALUES ('0'), ('-0'), ('NaN'), ('Infinity'), ('-Infinity'), ('5e-324'), ('1.7976931348623157e308'),
    ('0.1'), ('1e21'), ('123456789012345678');
  INSERT INTO edge (f8) SELECT (random() - 0.5) * power(10::float8, (random() * 600 - 300)::int) FROM generate_series(1, 500);
  INSERT INTO edge (num) VALUES ('0'), ('-0'), ('0.000'), ('NaN'), ('Infinity'), ('-Infinity'), ('1e-20'), ('0.1000'),
    ('-12345678901234567890.123456789012345678'), ('10000'), ('9999.9999'), ('1e100'), ('-0.00001'), ('100000000.5');
  INSERT INTO edge (num) SELECT round(((random() - 0.5) * power(10::float8, g % 30))::numeric, g % 20)
    FROM generate_series(1, 500) g;
  INSERT INTO edge (num) SELECT (g::numeric / 7)::numeric(40, 25) * power(10::numeric, g % 17 - 8) FROM generate_series(1, 300) g;
  INSERT INTO edge (d) VALUES ('2000-01-01'), ('1970-01-01'), ('1969-12-31'), ('0001-01-01'), ('0001-12-31 BC'),
    ('0044-03-15 BC'), ('4713-01-01 BC'), ('0999-12-31'), ('9999-12-31'), ('10000-01-01'), ('275760-09-13'),
    ('275760-09-14'), ('5874897-12-31'), ('infinity'), ('-infinity'), ('2024-02-29');
  INSERT INTO edge (d) SELECT '2000-01-01'::date + ((random() - 0.5) * 4000000)::int FROM generate_series(1, 500);
  INSERT INTO edge (ts, tstz) VALUES ('2000-01-01', '2000-01-01'), ('1969-12-31 23:59:59.9995', '1969-12-31 23:59:59.9995+00'),
    ('1970-01-01 00:00:00.0005', '1970-01-01 00:00:00.0005+00'), ('0044-03-15 12:00:00.123456 BC', '0044-03-15 12:00:00 BC'),
    ('4713-01-01 00:00:00 BC', '4713-01-01 00:00:00+00 BC'), ('275760-09-13 00:00:00', '275760-09-13 00:00:00+00'),
    ('275760-09-13 00:00:00.001', '275760-09-13 00:00:00.001+00'), ('294276-12-31 23:59:59.999999', '294276-12-31 23:59:59.999999+00'),
    ('infinity', '-infinity'), ('-infinity', 'infinity'), ('1899-12-31 23:59:59.999999', '1899-12-31 23:59:59.999999-07:30');
  INSERT INTO edge (ts, tstz) SELECT '2000-01-01'::timestamp + (random() - 0.5) * interval '600000 days',
    '2000-01-01'::timestamptz + (random() * 108000000 - 2400000) * interval '1 day' FROM generate_series(1, 500);
  INSERT INTO edge (tm, tz, iv) VALUES ('00:00', '00:00+00', '0'), ('24:00:00', '24:00:00-15:59', '-1 days'),
    ('23:59:59.999999', '23:59:59.999999+05:30', '1 year 2 mons 3 days 04:05:06.5'),
    ('12:00:00.5', '12:00:00-03:00:15', '-1 year -2 mons +3 days -04:05:06.000001'),
    ('01:02:03.000100', '01:02:03+14', '-0.5 seconds'), (NULL, '01:00-00:00:01', '178000000 years'),
    (NULL, NULL, '2562047788 hours 54.775807 seconds'), (NULL, NULL, '-2562047788 hours -54.775808 seconds'),
    (NULL, NULL, '-2147483648 days'), (NULL, NULL, '1 mon -1 day'), (NULL, NULL, '0.000001 seconds'), (NULL, NULL, '59 minutes');
  INSERT INTO edge (tm, tz, iv) SELECT '00:00'::time + random() * interval '24 hours',
    ('00:00'::time + random() * interval '24 hours')::timetz, make_interval(
      years => ((random() - 0.5) * 200)::int, months => ((random() - 0.5) * 30)::int, days => ((random() - 0.5) * 90)::int,
      hours => ((random() - 0.5) * 100)::int, mins => ((random() - 0.5) * 130)::int, secs => ((random() - 0.5) * 130)::numeric(10, 6))
    FROM generate_series(1, 500);

  CREATE TABLE other (id serial PRIMARY KEY, b bool, i2 int2, i4 int4, o oid, u uuid, tx text, bp char(5), vc varchar(9),
    nm name, ch "char", j json, jb jsonb, by bytea, e mood, dom posint, ip inet, cidr cidr, ad addr, money money,
    pr pair, rng int4range, bits bit(4), mac macaddr, pt point, x xml,
    ai int4[], a2 int4[], a8 int8[], at text[], anum numeric[], af4 float4[], ad8 date[], atz timestamptz[], aiv interval[],
    au uuid[], ab bool[], aby bytea[], aj json[], ajb jsonb[], ae mood[], aip inet[], apr pair[], abp char(2)[], ach "char"[]);
  INSERT INTO other (b, i2, i4, o, u, tx, bp, vc, nm, ch, j, jb, by, e, dom, ip, cidr, ad, money, pr, rng, bits, mac, pt, x,
      ai, a2, a8, at, anum, af4, ad8, atz, aiv, au, ab, aby, aj, ajb, ae, aip, apr, abp, ach) VALUES
    (true, -32768, -2147483648, 4294967295, gen_random_uuid(), E'tab\\there "q" \\\\ ünï 😀', 'ab', 'x', 'name', 'z',
     '{"a": [1, 2.5e3, "\\u00e9"], "b": null}', '{"k": "v", "n": 1.50}', '\\x00ff10', 'happy', 7, '10.0.0.1', '10.0.0.0/8',
     '::1', 12.34, ROW(1, 'a,b'), '[1,5)', B'1010', '08:00:2b:01:02:03', '(1.5,2)', '<a>x</a>',
     '{1,NULL,3}', '[0:1][1:2]={{1,2},{3,4}}', '{9223372036854775807,-1}', '{"a,b","c\\"d","NULL",NULL,"\\\\"}',
     '{1.50,NaN,-0.001}', '{1.1,NaN,-Infinity}', '{2024-02-29,infinity}', '{"2024-01-01 00:00:00.123456+00"}',
     '{"1 day","PT-0.5S"}', '{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}', '{t,f,NULL}', '{"\\\\x00ff",NULL}',
     ARRAY['{"a":1}'::json, '[]'], ARRAY['"x"'::jsonb, 'null'], '{sad,ok}', '{10.0.0.1,::1/128}', ARRAY[ROW(2, 'x')::pair, NULL],
     '{a,"b "}', '{a,b}'),
    (false, 32767, 2147483647, 0, NULL, '', 'abcde', '', '', 'A', '[]', '"=cmd"', '\\x', 'sad', 1, '::ffff:1.2.3.4', '::/0',
     '1.2.3.4/24', -0.5, ROW(NULL, NULL), 'empty', B'0000', '00:00:00:00:00:00', '(0,0)', '', '{}', '{{{1},{2}}}', '{}', '{}',
     '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}'),
    (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'null', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
     NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
     NULL, NULL, NULL, NULL, NULL);
  INSERT INTO other (u, tx, by, j) SELECT gen_random_uuid(), repeat(md5(g::text), g % 7), decode(md5(g::text), 'hex'),
    json_build_object('g', g, 's', md5(g::text)) FROM generate_series(1, 300) g;
`;
