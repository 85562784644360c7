# posts.awk: reads NDJSON posts (the demo stream's and the labelled corpus' line format) for the
# benchmarks' input generators, which are a second -f program writing in their END:
#   text[0..m)    each line's "text", the JSON string's contents (still escaped)
#   community[]   the community's "name" as a JSON string literal, or ""
#   lat[], lon[]  the "lat" / "lon" number literals, or ""
# Lines without a text are skipped. No JSON tool needed: the literals are copied as they are.

# The JSON string literal of "key" in s (quotes included), or "".
function literal(s, key,    at, rest) {
	at = index(s, "\"" key "\":")
	if (at == 0)
		return ""
	rest = substr(s, at + length(key) + 3)
	sub(/^ */, "", rest)
	if (!match(rest, /^"([^"\\]|\\.)*"/))
		return ""
	return substr(rest, 1, RLENGTH)
}

# The number literal of "key" in s, or "".
function number(s, key,    at, rest) {
	at = index(s, "\"" key "\":")
	if (at == 0)
		return ""
	rest = substr(s, at + length(key) + 3)
	sub(/^ */, "", rest)
	if (!match(rest, /^-?[0-9]+(\.[0-9]+)?/))
		return ""
	return substr(rest, 1, RLENGTH)
}

BEGIN { m = 0 }
{
	t = literal($0, "text")
	if (t == "")
		next
	text[m] = substr(t, 2, length(t) - 2)
	c = index($0, "\"community\":")
	community[m] = c ? literal(substr($0, c), "name") : ""
	lat[m] = number($0, "lat")
	lon[m] = number($0, "lon")
	m++
}
