#!/usr/bin/env python3
"""Sends the hostile HTTP corpus (tests/hostile/*.ndjson, one case a line) to running services
and checks each answer. Usage: send_http.py BASE_URL_collector=... (see tests/integration/
test_hostile.sh). A case is an object:
  desc          what it is
  service       collector | assigner | notifier
  method, path  the request (path may hold a query string)
  token         a name given as token:NAME=VALUE ("good", "wrong", "operator", "viewer"...), or
                absent (no Authorization header)
  content_type  absent: none sent
  body | body_b64 | gen   the raw body, base64 bytes (invalid UTF-8, NULs), or a generated one:
                {"nested": depth} / {"array": n} / {"bytes": n} / {"items": n}
  expect        the status; error answers must be JSON {"error": ...}
  field         the field the error names (checked when given; Open311 answers are arrays)
  accepted, rejected   for 202 ingest answers: the counts
After every case each service's /readyz must still answer 200.
"""
import base64
import json
import sys
import urllib.error
import urllib.parse
import urllib.request


def gen_body(g):
    if 'nested' in g:
        return b'[' * g['nested'] + b']' * g['nested']
    if 'array' in g:
        return b'[' + b','.join([b'1'] * g['array']) + b']'
    if 'bytes' in g:
        text = 'я' * (g['bytes'] // 2)
        return json.dumps({'source': 'http', 'external_id': 'big', 'text': text,
                           'posted_at': '2026-11-28T03:15:00Z'}, ensure_ascii=False).encode()
    if 'items' in g:
        item = {'source': 'http', 'text': 'x', 'posted_at': '2026-11-28T03:15:00Z'}
        return json.dumps([dict(item, external_id='many-%d' % i) for i in range(g['items'])]).encode()
    raise ValueError(g)


def request(base, case, tokens):
    body = None
    if 'body' in case:
        body = case['body'].encode()
    elif 'body_b64' in case:
        body = base64.b64decode(case['body_b64'])
    elif 'gen' in case:
        body = gen_body(case['gen'])
    # Non-ASCII in a path goes percent-encoded, as a client sends it.
    path = urllib.parse.quote(case['path'], safe="/?&=%:,'();*+!$@~")
    req = urllib.request.Request(base + path, data=body, method=case.get('method', 'GET'))
    if case.get('content_type'):
        req.add_header('Content-Type', case['content_type'])
    if case.get('token'):
        req.add_header('Authorization', 'Bearer ' + tokens[case['token']])
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except (ConnectionError, urllib.error.URLError) as e:
        # A server may answer 413 and close before reading a huge body.
        return None, str(e).encode()


def main():
    bases = dict(a.split('=', 1) for a in sys.argv[1:] if '=' in a and a.split('=')[0] in
                 ('collector', 'assigner', 'notifier'))
    tokens = dict(a[6:].split('=', 1) for a in sys.argv[1:] if a.startswith('token:'))
    files = [a for a in sys.argv[1:] if a.endswith('.ndjson')]
    failures = 0
    count = 0
    for path in files:
        for n, line in enumerate(open(path, encoding='utf-8'), 1):
            if not line.strip():
                continue
            case = json.loads(line)
            count += 1
            where = '%s:%d %s' % (path, n, case['desc'])
            status, raw = request(bases[case['service']], case, tokens)
            problems = []
            if status != case['expect'] and not (status is None and case['expect'] == 413):
                problems.append('status %s, expected %s' % (status, case['expect']))
            elif status is not None and status >= 400:
                try:
                    doc = json.loads(raw)
                except ValueError:
                    doc = None
                if not isinstance(doc, (dict, list)):
                    problems.append('the error is not JSON: %r' % raw[:200])
                elif 'field' in case and isinstance(doc, dict):
                    # An ingest answer names the field per rejected item.
                    named = [doc] + [i for i in doc.get('items', []) if i.get('status') == 'rejected']
                    if not any(i.get('field') == case['field'] for i in named):
                        problems.append('no error names %r: %s' % (case['field'], raw[:300]))
            elif status == 202 and 'accepted' in case:
                doc = json.loads(raw)
                got = (doc.get('accepted'), doc.get('rejected'))
                if got != (case['accepted'], case.get('rejected', 0)):
                    problems.append('accepted/rejected %s, expected %s' %
                                    (got, (case['accepted'], case.get('rejected', 0))))
            for svc, base in bases.items():
                try:
                    with urllib.request.urlopen(base + '/readyz', timeout=10) as r:
                        ok = r.status == 200
                except Exception:  # noqa: BLE001 - any failure is "not ready"
                    ok = False
                if not ok:
                    problems.append('%s is not ready after it' % svc)
            if problems:
                failures += 1
                print('FAIL %s: %s' % (where, '; '.join(problems)))
            else:
                print('ok   %s -> %s' % (where, status))
    print('hostile http: %d cases, %d failed' % (count, failures))
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
