#!/bin/sh
# Generates N ingest items (NDJSON, the collector's ingest format) from the project's own demo
# stream (deploy/demo/khakassia_posts.ndjson), for load under faults:
#
#   gen.sh N SOURCE PREFIX [FIRST] [DAYS]   items SOURCE:PREFIX-<FIRST..FIRST+N-1>
#
# Item i takes demo post i mod 350 (its text, author, community, address and coordinates),
# varied so no two texts are equal (a town-dweller's aside and a number appended), posted DAYS
# days (default 0) and the demo post's minutes ago: items of another week make incidents of
# their own (the assigner groups reports within 72 h). The same arguments give the same items
# (but for the posting time, counted from now).
set -eu
n=$1 source=$2 prefix=$3 first=${4:-1} days=${5:-0}
posts=$(dirname "$0")/../../deploy/demo/khakassia_posts.ndjson
jq -c -s --argjson n "$n" --argjson first "$first" --arg src "$source" --arg prefix "$prefix" \
	--argjson days "$days" '
	. as $p | ["Повторно пишу.", "Когда исправят?", "Обращение №", "Жители просят помочь,", "Уже неделю так."] as $tail |
	((now | floor) - $days * 86400) as $t |
	range($first; $first + $n) as $i | $p[($i - 1) % ($p | length)] as $d |
	{source: $src, external_id: "\($prefix)-\($i)", kind: "post",
	 text: "\($d.text) \($tail[$i % 5]) \($i)",
	 posted_at: ($t - 60 * $d.minutes_ago | todate),
	 author: $d.author, community: $d.community}
	+ (if $d.address or $d.lat then {location: ({address: $d.address, lat: $d.lat, lon: $d.lon} | with_entries(select(.value != null)))} else {} end)
' "$posts"
