# items.awk (with posts.awk): the ingest items of bench_items in tests/bench/common.sh
# (-v n, full, tag, posted: see there).
END {
	for (i = 0; i < n; i++) {
		k = i % m
		t = text[k]
		if (i >= m)
			t = t " д. " (1 + int(i / m) % 150)
		line = "{"
		if (full != "")
			line = line "\"schema\":\"message.v1\",\"id\":\"http:" tag "-" i "\"," \
			       "\"received_at\":\"2026-11-28T00:00:01Z\","
		line = line "\"source\":\"http\",\"external_id\":\"" tag "-" i "\",\"text\":\"" t \
		       "\",\"posted_at\":\"" posted "\""
		if (community[k] != "")
			line = line ",\"community\":{\"name\":" community[k] "}"
		print line "}"
	}
}
