#!/usr/bin/env python3
"""Proves every SQL statement the services run is parameterised: values reach PostgreSQL only
as $n parameters, never inside the statement text.

Checks the C files under the given directories (default: services and shared):
  1. libpq's statement functions (PQexec, PQexecParams, PQprepare, PQsendQuery...) are called
     only in shared/db.c, whose db_exec/db_run take the parameters apart from the text;
  2. the statement given to db_exec/db_run is a string literal (macros and literal ternaries
     included), or a variable / parameter every assignment of which is one; a statement built
     with xasprintf/snprintf/strbuf/strcat is an error, except in shared/db.c the migration
     statements that name the service's schema, an identifier escaped by PQescapeIdentifier;
  3. no format string handed to a string builder starts an SQL statement and interpolates %s.
Prints each violation as file:line: reason and exits 1 when there is any.
"""
import glob
import os
import re
import sys

BUILDERS = re.compile(r'\b(xasprintf|snprintf|sprintf|strbuf_\w+|strcat|strcpy|strncat)\s*\(')
PQ_EXEC = re.compile(r'\bPQ(exec\w*|prepare|sendQuery\w*|sendPrepare)\s*\(')
SQL_FORMAT = re.compile(r'"\s*(SELECT|INSERT|UPDATE|DELETE|WITH|SET|ALTER|CREATE|DROP)\b[^"]*%s',
                        re.I)
# shared/db.c: the escaped schema identifier of db_migrate (not a value).
ALLOWED_BUILT = {('db.c', 'set_path'), ('db.c', 'record'), ('db.c', 'sql')}


def call_args(s, start):
    """Top-level arguments of the call whose '(' is at s[start-1]; (args, end)."""
    depth, i, cur, args = 1, start, '', []
    while depth:
        c = s[i]
        if c == '"':
            j = i + 1
            while s[j] != '"':
                j += 2 if s[j] == '\\' else 1
            cur += s[i:j + 1]
            i = j + 1
            continue
        if c in '([{':
            depth += 1
        elif c in ')]}':
            depth -= 1
            if depth == 0:
                break
        if c == ',' and depth == 1:
            args.append(cur.strip())
            cur = ''
        else:
            cur += c
        i += 1
    args.append(cur.strip())
    return args, i


def is_literal(expr):
    """A string literal, literal concatenation with macros, or a ternary of those."""
    e = re.sub(r'"(\\.|[^"\\])*"', '""', expr)
    e = re.sub(r'\b[A-Z][A-Z0-9_]*(\([^()]*\))?', '""', e)  # macros: SQL pieces, API_TS(c)
    e = re.sub(r'\s+', ' ', e).strip()
    tokens = re.sub(r'[""?:()]|\b\w+\b(?= \?)', ' ', e.replace('""', ' ')).split()
    return '""' in e and not tokens


def main(dirs):
    files = []
    for d in dirs:
        files += sorted(glob.glob(os.path.join(d, '**', '*.c'), recursive=True))
    problems = []
    for path in files:
        s = open(path, encoding='utf-8').read()
        base = os.path.basename(path)

        def line(pos):
            return s.count('\n', 0, pos) + 1

        if base != 'db.c':
            for m in PQ_EXEC.finditer(s):
                problems.append(f'{path}:{line(m.start())}: {m.group(0)[:-1]} outside shared/db.c')
        for m in SQL_FORMAT.finditer(s):
            if base == 'db.c' and 'ident' in s[m.end():s.find(';', m.end())]:
                continue  # the escaped schema identifier
            problems.append(f'{path}:{line(m.start())}: SQL text built with %s')
        for m in re.finditer(r'\b(db_exec|db_run)\s*\(', s):
            args, _ = call_args(s, m.end())
            if len(args) < 2 or args[0].startswith('struct db'):
                continue  # the definitions
            sql = args[1]
            if is_literal(sql):
                continue
            if not re.fullmatch(r'\w+', sql):
                problems.append(f'{path}:{line(m.start())}: statement is an expression: {sql[:60]}')
                continue
            # Every assignment of the variable in this file must be a literal.
            for a in re.finditer(r'\b' + sql + r'\s*=(?!=)\s*([^;]*);', s):
                rhs = a.group(1)
                if BUILDERS.search(rhs) and (base, sql) not in ALLOWED_BUILT:
                    problems.append(f'{path}:{line(a.start())}: statement {sql} built by {rhs[:50]}')
                elif not BUILDERS.search(rhs) and not is_literal(rhs) and not re.fullmatch(
                        r'[\w.>-]+(\[\w+\])?', rhs.strip()):
                    problems.append(f'{path}:{line(a.start())}: statement {sql} = {rhs[:50]}')
            for a in re.finditer(r'\b(strbuf_\w+|strcat|strncat|strcpy)\s*\(\s*&?' + sql + r'\b', s):
                if (base, sql) not in ALLOWED_BUILT:
                    problems.append(f'{path}:{line(a.start())}: statement {sql} built by {a.group(1)}')
    for p in problems:
        print(p)
    print(f'sql_check: {len(files)} files, {len(problems)} problems')
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:] or ['services', 'shared']))
