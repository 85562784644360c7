# classifier_input.awk (with posts.awk): N message.v1 lines (-v n=N) from the posts read, for
# tests/bench/classifier.sh. Round 0 is the texts as written; each later round adds one of a
# few closing phrases and a house number, so that no two lines of a round are the same text.
END {
	split("Примите меры!|Сколько можно?|Просим разобраться.|Фото в комментариях.|" \
	      "Уже писали, ответа нет.|Помогите, пожалуйста|Администрация, ответьте!|" \
	      "Жители дома", tails, "|")
	for (i = 0; i < n; i++) {
		k = i % m
		round = int(i / m)
		t = text[k]
		if (round > 0)
			t = t " " tails[1 + (round + k) % 8] " д. " (1 + (round * 7 + k) % 150)
		line = "{\"schema\":\"message.v1\",\"id\":\"bench:" i "\",\"source\":\"bench\"," \
		       "\"external_id\":\"" i "\",\"text\":\"" t "\",\"posted_at\":" \
		       "\"2026-11-28T00:00:00Z\",\"received_at\":\"2026-11-28T00:00:01Z\""
		if (community[k] != "")
			line = line ",\"community\":{\"name\":" community[k] "}"
		if (lat[k] != "" && lon[k] != "")
			line = line ",\"location\":{\"lat\":" lat[k] ",\"lon\":" lon[k] "}"
		print line "}"
	}
}
