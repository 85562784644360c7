/*
 * region: loading, validating and routing over a region pack (region.h).
 *
 * The five files are parsed with jansson and kept alive for the region's life, so every string
 * the API hands out is borrowed from them. Validation goes through everything and collects
 * every problem (file, member, what is wrong) before giving up, so an operator fixes a pack in
 * one round. Routing is at most four lookups in one open-addressing hash table keyed by
 * (topic or sub-topic, municipality or "*"), plus one municipality lookup for the fallbacks.
 */
#include "region.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"
#include "xalloc.h"

#define MAX_URGENCIES 8

/* The fixed topic contract of classified.v1. */
static const char *const topic_codes[] = {"housing",       "improvement", "roads",     "waste",
                                          "transport",     "healthcare",  "education", "social",
                                          "ecology",       "animals",     "safety",    "telecom",
                                          "culture_sport", "trade",       "other"};
#define NTOPICS (sizeof(topic_codes) / sizeof(topic_codes[0]))

/* ---- a hash index over (a, b) string pairs -------------------------------------------------- */

struct slot {
	const char *a, *b; /* NULL a: empty slot */
	uint64_t hash;
	uint32_t value;
};

struct index {
	struct slot *slots;
	size_t mask;
};

static uint64_t fnv_add(uint64_t h, const char *s)
{
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * UINT64_C(0x100000001b3);
	return h;
}

static uint64_t pair_hash(const char *a, const char *b)
{
	uint64_t h = fnv_add(UINT64_C(0xcbf29ce484222325), a);

	return fnv_add((h ^ 0x1f) * UINT64_C(0x100000001b3), b);
}

static void index_init(struct index *ix, size_t expected)
{
	size_t n = 16;

	while (n < expected * 2)
		n *= 2;
	ix->slots = xcalloc(n, sizeof(*ix->slots));
	ix->mask = n - 1;
}

static struct slot *index_find(const struct index *ix, const char *a, const char *b, uint64_t h)
{
	for (size_t i = h & ix->mask;; i = (i + 1) & ix->mask) {
		struct slot *s = &ix->slots[i];
		if (!s->a || (s->hash == h && strcmp(s->a, a) == 0 && strcmp(s->b, b) == 0))
			return s;
	}
}

/* Adds (a, b) → value; returns the existing value's slot instead when the pair is there. The
 * table is sized for every key up front, so it never fills. */
static const struct slot *index_put(struct index *ix, const char *a, const char *b, uint32_t value)
{
	uint64_t h = pair_hash(a, b);
	struct slot *s = index_find(ix, a, b, h);

	if (s->a)
		return s;
	*s = (struct slot){.a = a, .b = b, .hash = h, .value = value};
	return NULL;
}

static bool index_get(const struct index *ix, const char *a, const char *b, uint32_t *value)
{
	const struct slot *s = index_find(ix, a, b, pair_hash(a, b));

	if (!s->a)
		return false;
	*value = s->value;
	return true;
}

/* ---- the region ----------------------------------------------------------------------------- */

struct urgency {
	const char *name;
	struct region_deadline deadline;
};

struct rule {
	const char *id;
	const struct region_authority *authority;
};

struct region {
	json_t *docs[5]; /* the parsed files, owning every string below */
	const char *name;
	struct region_authority *auth;
	size_t *auth_pos; /* each authority's index in authorities.json, for problems */
	size_t nauth;
	struct region_municipality *muni;
	size_t nmuni;
	struct index auth_ix, muni_ix, rule_ix; /* rule_ix values index rules */
	struct rule *rules;
	size_t nrules;
	const struct region_authority *topic_owner[NTOPICS];
	const struct region_authority *duty_desk;
	struct urgency urgencies[MAX_URGENCIES];
	size_t nurgencies;
	struct workcal *cal;
};

/* The loader's state: where problems are collected. */
struct loader {
	struct region *r;
	struct strbuf problems;
	size_t nproblems;
};

__attribute__((format(printf, 3, 4))) static void problem(struct loader *ld, const char *file,
                                                          const char *fmt, ...)
{
	va_list ap;

	if (ld->nproblems++)
		strbuf_addstr(&ld->problems, "; ");
	strbuf_addf(&ld->problems, "%s: ", file);
	va_start(ap, fmt);
	strbuf_vaddf(&ld->problems, fmt, ap);
	va_end(ap);
}

static bool is_ident(const char *s)
{
	if (!*s || strlen(s) > 64)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	return true;
}

static int topic_index(const char *topic)
{
	for (size_t i = 0; i < NTOPICS; i++)
		if (strcmp(topic_codes[i], topic) == 0)
			return (int)i;
	return -1;
}

/* A sub-topic code belongs to its topic: "housing.heating" under "housing". */
static bool subtopic_of(const char *subtopic, const char *topic)
{
	size_t n = strlen(topic);

	return strncmp(subtopic, topic, n) == 0 && subtopic[n] == '.' && is_ident(subtopic + n + 1);
}

/*
 * A string member of obj: returns it, or NULL. Absent or null is a problem when required; a
 * non-string or empty string always is. `at` names obj ("authorities[3]", "" for the top).
 */
static const char *get_str(struct loader *ld, const char *file, const json_t *obj, const char *at,
                           const char *key, bool required)
{
	const json_t *v = json_object_get(obj, key);
	const char *dot = *at ? "." : "";

	if (!v || json_is_null(v)) {
		if (required)
			problem(ld, file, "%s%s%s: missing", at, dot, key);
		return NULL;
	}
	if (!json_is_string(v) || json_string_length(v) == 0) {
		problem(ld, file, "%s%s%s: must be a non-empty string", at, dot, key);
		return NULL;
	}
	return json_string_value(v);
}

/* An identifier member: snake_case ASCII. */
static const char *get_id(struct loader *ld, const char *file, const json_t *obj, const char *at,
                          const char *key, bool required)
{
	const char *s = get_str(ld, file, obj, at, key, required);

	if (s && !is_ident(s)) {
		problem(ld, file, "%s%s%s: \"%s\" is not an identifier (a-z, 0-9, _)", at,
		        *at ? "." : "", key, s);
		return NULL;
	}
	return s;
}

/* Parses dir/file; checks it is an object with the given "schema". */
static json_t *load_doc(struct loader *ld, const char *dir, const char *file, const char *schema)
{
	char path[4096];
	json_error_t je;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	json_t *doc = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	if (!doc) {
		if (je.line > 0)
			problem(ld, file, "line %d: %s", je.line, je.text);
		else
			problem(ld, file, "%s", je.text);
		return NULL;
	}
	const json_t *s = json_object_get(doc, "schema");
	if (!json_is_object(doc)) {
		problem(ld, file, "must be a JSON object");
	} else if (!json_is_string(s) || strcmp(json_string_value(s), schema) != 0) {
		problem(ld, file, "schema: must be \"%s\"", schema);
	} else {
		return doc;
	}
	json_decref(doc);
	return NULL;
}

/* The array member `key` of doc, or NULL with a problem. */
static const json_t *get_array(struct loader *ld, const char *file, const json_t *doc,
                               const char *key)
{
	const json_t *a = json_object_get(doc, key);

	if (!json_is_array(a)) {
		problem(ld, file, "%s: %s", key, a ? "must be an array" : "missing");
		return NULL;
	}
	return a;
}

/* Names the array item ("authorities[3]") in `at` and checks that it is an object. */
static bool item_object(struct loader *ld, const char *file, const char *array, size_t i,
                        const json_t *v, char *at, size_t atlen)
{
	snprintf(at, atlen, "%s[%zu]", array, i);
	if (json_is_object(v))
		return true;
	problem(ld, file, "%s: must be an object", at);
	return false;
}

/* ---- authorities.json ----------------------------------------------------------------------- */

static const char *const authority_kinds[] = {"duty_desk",  "government", "ministry",
                                              "committee",  "agency",     "administration",
                                              "department", "operator",   "utility"};

static bool valid_email(const char *s)
{
	const char *at = strchr(s, '@');

	if (!at || at == s || strchr(at + 1, '@') || !strchr(at + 1, '.') || at[1] == '.')
		return false;
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == '<' || *s == '>' || *s == ',')
			return false;
	return s[-1] != '.';
}

/* A Telegram chat: a numeric id ("-1001234567890") or a public "@name". */
static bool valid_chat_id(const char *s)
{
	if (*s == '@') {
		if (strlen(s) < 6)
			return false;
		for (s++; *s; s++)
			if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
			      (*s >= '0' && *s <= '9') || *s == '_'))
				return false;
		return true;
	}
	if (*s == '-')
		s++;
	if (!*s || strlen(s) > 19)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

static bool valid_url(const char *s)
{
	const char *host = strncmp(s, "http://", 7) == 0    ? s + 7
	                   : strncmp(s, "https://", 8) == 0 ? s + 8
	                                                    : NULL;

	if (!host || !*host || *host == '/')
		return false;
	for (; *s; s++)
		if ((unsigned char)*s <= ' ')
			return false;
	return true;
}

static void check_channels(struct loader *ld, const char *file, const json_t *a, const char *at)
{
	const json_t *chans = json_object_get(a, "channels"), *c;
	size_t i;
	char path[80], cat[112];

	snprintf(path, sizeof(path), "%s.channels", at);
	if (!json_is_array(chans) || json_array_size(chans) == 0) {
		problem(ld, file, "%s: %s", path,
		        chans ? "must be a non-empty array"
		              : "missing (the authority must be reachable)");
		return;
	}
	json_array_foreach(chans, i, c)
	{
		if (!item_object(ld, file, path, i, c, cat, sizeof(cat)))
			continue;
		const char *type = get_str(ld, file, c, cat, "type", true), *v;
		if (!type)
			continue;
		if (strcmp(type, "email") == 0) {
			if ((v = get_str(ld, file, c, cat, "address", true)) && !valid_email(v))
				problem(ld, file, "%s.address: \"%s\" is not an e-mail address",
				        cat, v);
		} else if (strcmp(type, "telegram") == 0) {
			if ((v = get_str(ld, file, c, cat, "chat_id", true)) && !valid_chat_id(v))
				problem(ld, file,
				        "%s.chat_id: \"%s\" is not a Telegram chat id (digits, "
				        "optionally negative, or @name)",
				        cat, v);
		} else if (strcmp(type, "webhook") == 0) {
			if ((v = get_str(ld, file, c, cat, "url", true)) && !valid_url(v))
				problem(ld, file, "%s.url: \"%s\" is not an http(s) URL", cat, v);
		} else {
			problem(ld, file,
			        "%s.type: unknown channel type \"%s\" (email, telegram, webhook)",
			        cat, type);
		}
	}
}

static bool known_kind(const char *kind)
{
	for (size_t i = 0; i < sizeof(authority_kinds) / sizeof(authority_kinds[0]); i++)
		if (strcmp(authority_kinds[i], kind) == 0)
			return true;
	return false;
}

static void load_authorities(struct loader *ld, const json_t *doc)
{
	static const char file[] = "authorities.json";
	struct region *r = ld->r;
	const json_t *arr = get_array(ld, file, doc, "authorities"), *a;
	size_t i;
	char at[64];

	if (!arr)
		return;
	r->auth = xcalloc(json_array_size(arr) + 1, sizeof(*r->auth));
	r->auth_pos = xcalloc(json_array_size(arr) + 1, sizeof(*r->auth_pos));
	index_init(&r->auth_ix, json_array_size(arr));
	json_array_foreach(arr, i, a)
	{
		if (!item_object(ld, file, "authorities", i, a, at, sizeof(at)))
			continue;
		struct region_authority au = {
		        .id = get_id(ld, file, a, at, "id", true),
		        .name = get_str(ld, file, a, at, "name", true),
		        .kind = get_str(ld, file, a, at, "kind", true),
		        .parent = get_id(ld, file, a, at, "parent", false),
		        .channels = json_object_get(a, "channels"),
		};
		if (au.kind && !known_kind(au.kind))
			problem(ld, file, "%s.kind: unknown kind \"%s\"", at, au.kind);
		check_channels(ld, file, a, at);
		if (!au.id || !au.name || !au.kind)
			continue;
		const struct slot *dup = index_put(&r->auth_ix, au.id, "", (uint32_t)r->nauth);
		if (dup) {
			problem(ld, file, "%s.id: duplicate id \"%s\"", at, au.id);
			continue;
		}
		r->auth_pos[r->nauth] = i;
		r->auth[r->nauth++] = au;
	}
}

/* Parents exist, escalation has no cycles, and every chain ends at the duty desk. */
static void check_escalation(struct loader *ld)
{
	static const char file[] = "authorities.json";
	struct region *r = ld->r;

	for (size_t i = 0; i < r->nauth; i++) {
		const struct region_authority *a = &r->auth[i];
		if (a->parent && !region_authority(r, a->parent))
			problem(ld, file, "authorities[%zu].parent: unknown authority \"%s\"",
			        r->auth_pos[i], a->parent);
	}
	for (size_t i = 0; i < r->nauth; i++) {
		const struct region_authority *a = &r->auth[i], *p = a;
		size_t steps = 0;
		while (p && p->parent && steps++ <= r->nauth) {
			p = region_authority(r, p->parent);
			if (p == a) {
				problem(ld, file,
				        "authorities[%zu].parent: escalation loops back to \"%s\"",
				        r->auth_pos[i], a->id);
				break;
			}
		}
		if (!r->duty_desk || a->parent)
			continue;
		if (a != r->duty_desk)
			problem(ld, file,
			        "authorities[%zu].parent: missing (only the duty desk \"%s\" "
			        "may have none)",
			        r->auth_pos[i], r->duty_desk->id);
	}
	if (r->duty_desk && r->duty_desk->parent)
		problem(ld, file, "authorities[%zu].parent: the duty desk \"%s\" must have none",
		        r->auth_pos[r->duty_desk - r->auth], r->duty_desk->id);
}

/* ---- municipalities.json -------------------------------------------------------------------- */

static void load_municipalities(struct loader *ld, const json_t *doc)
{
	static const char file[] = "municipalities.json";
	struct region *r = ld->r;
	const json_t *region = json_object_get(doc, "region"), *arr, *m;
	size_t i;
	char at[64];

	if (!json_is_object(region))
		problem(ld, file, "region: %s", region ? "must be an object" : "missing");
	else
		r->name = get_str(ld, file, region, "region", "name", true);
	if (!(arr = get_array(ld, file, doc, "municipalities")))
		return;
	r->muni = xcalloc(json_array_size(arr) + 1, sizeof(*r->muni));
	index_init(&r->muni_ix, json_array_size(arr));
	json_array_foreach(arr, i, m)
	{
		if (!item_object(ld, file, "municipalities", i, m, at, sizeof(at)))
			continue;
		struct region_municipality mu = {
		        .id = get_id(ld, file, m, at, "id", true),
		        .name = get_str(ld, file, m, at, "name", true),
		        .short_name = get_str(ld, file, m, at, "short", true),
		        .administration = get_id(ld, file, m, at, "administration", true),
		};
		if (mu.administration && r->auth && !region_authority(r, mu.administration))
			problem(ld, file, "%s.administration: unknown authority \"%s\"", at,
			        mu.administration);
		if (!mu.id || !mu.name || !mu.short_name)
			continue;
		if (index_put(&r->muni_ix, mu.id, "", (uint32_t)r->nmuni)) {
			problem(ld, file, "%s.id: duplicate id \"%s\"", at, mu.id);
			continue;
		}
		r->muni[r->nmuni++] = mu;
	}
}

/* ---- routing.json --------------------------------------------------------------------------- */

/* An authority reference: a problem when unknown (and the authorities loaded at all). */
static const struct region_authority *get_authority_ref(struct loader *ld, const char *file,
                                                        const json_t *obj, const char *at,
                                                        const char *key)
{
	const char *id = get_id(ld, file, obj, at, key, true);
	const struct region_authority *a = id ? region_authority(ld->r, id) : NULL;

	if (id && !a && ld->r->auth)
		problem(ld, file, "%s%s%s: unknown authority \"%s\"", at, *at ? "." : "", key, id);
	return a;
}

static void load_rule(struct loader *ld, const json_t *rule, const char *at, struct index *ids)
{
	static const char file[] = "routing.json";
	struct region *r = ld->r;
	const char *id = get_str(ld, file, rule, at, "id", true);
	const char *topic = get_id(ld, file, rule, at, "topic", true);
	const char *sub = get_str(ld, file, rule, at, "subtopic", false);
	const char *muni = get_str(ld, file, rule, at, "municipality", true);
	const struct region_authority *a = get_authority_ref(ld, file, rule, at, "authority");
	bool ok = a && id && topic && muni;

	if (id && index_put(ids, id, "", 0)) {
		problem(ld, file, "%s.id: duplicate rule id \"%s\"", at, id);
		ok = false;
	}
	if (topic && topic_index(topic) < 0) {
		problem(ld, file, "%s.topic: unknown topic \"%s\"", at, topic);
		ok = false;
	}
	if (sub && topic && !subtopic_of(sub, topic)) {
		problem(ld, file, "%s.subtopic: \"%s\" is not a sub-topic of \"%s\" (%s.<code>)",
		        at, sub, topic, topic);
		ok = false;
	}
	if (muni && strcmp(muni, "*") != 0 && r->muni && !region_municipality(r, muni)) {
		problem(ld, file, "%s.municipality: unknown municipality \"%s\"", at, muni);
		ok = false;
	}
	if (!ok)
		return;
	const struct slot *dup =
	        index_put(&r->rule_ix, sub ? sub : topic, muni, (uint32_t)r->nrules);
	if (dup) {
		problem(ld, file, "%s: matches the same topic and municipality as rule \"%s\"", at,
		        r->rules[dup->value].id);
		return;
	}
	r->rules[r->nrules++] = (struct rule){.id = id, .authority = a};
}

static void load_routing(struct loader *ld, const json_t *doc)
{
	static const char file[] = "routing.json";
	struct region *r = ld->r;
	const json_t *rules = get_array(ld, file, doc, "rules");
	json_t *owners, *v;
	const char *key;
	size_t i;
	char at[64];

	r->duty_desk = get_authority_ref(ld, file, doc, "", "duty_desk");
	owners = json_object_get(doc, "topic_owners");
	if (owners && !json_is_object(owners))
		problem(ld, file, "topic_owners: must be an object (topic → authority id)");
	json_object_foreach(owners, key, v)
	{
		int t = topic_index(key);
		if (t < 0) {
			problem(ld, file, "topic_owners.%s: unknown topic", key);
			continue;
		}
		r->topic_owner[t] = get_authority_ref(ld, file, owners, "topic_owners", key);
	}
	if (!rules)
		return;
	struct index ids;
	r->rules = xcalloc(json_array_size(rules) + 1, sizeof(*r->rules));
	index_init(&r->rule_ix, json_array_size(rules));
	index_init(&ids, json_array_size(rules));
	json_array_foreach(rules, i, v)
	{
		if (item_object(ld, file, "rules", i, v, at, sizeof(at)))
			load_rule(ld, v, at, &ids);
	}
	free(ids.slots);
}

/* ---- deadlines.json ------------------------------------------------------------------------- */

/* An integer member within [min, max]; false with a problem otherwise. */
static bool get_int(struct loader *ld, const char *file, const json_t *obj, const char *at,
                    const char *key, json_int_t min, json_int_t max, json_int_t *out)
{
	const json_t *v = json_object_get(obj, key);

	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
		problem(ld, file, "%s.%s: %s an integer from %lld to %lld", at, key,
		        v ? "must be" : "missing:", (long long)min, (long long)max);
		return false;
	}
	*out = json_integer_value(v);
	return true;
}

static void load_deadline(struct loader *ld, const json_t *d, const char *at,
                          struct region_deadline *out)
{
	static const char file[] = "deadlines.json";
	json_int_t minutes = 0, days = 0;
	const json_t *share = json_object_get(d, "reminder_share");
	const char *clock;

	if (!json_is_object(d)) {
		problem(ld, file, "%s: must be an object", at);
		return;
	}
	if (get_int(ld, file, d, at, "first_answer_minutes", 1, 60 * 24 * 60, &minutes))
		out->first_answer_ms = (int64_t)minutes * 60000;
	if ((clock = get_str(ld, file, d, at, "first_answer_clock", true))) {
		if (strcmp(clock, "working") != 0 && strcmp(clock, "calendar") != 0)
			problem(ld, file,
			        "%s.first_answer_clock: must be \"working\" or \"calendar\"", at);
		out->first_answer_working = strcmp(clock, "working") == 0;
	}
	if (get_int(ld, file, d, at, "final_answer_days", 1, 365, &days))
		out->final_answer_days = (int)days;
	if (!json_is_number(share) || !(json_number_value(share) > 0.0) ||
	    !(json_number_value(share) < 1.0))
		problem(ld, file, "%s.reminder_share: %s a number between 0 and 1 (exclusive)", at,
		        share ? "must be" : "missing:");
	else
		out->reminder_share = json_number_value(share);
}

static void load_deadlines(struct loader *ld, const json_t *doc)
{
	static const char file[] = "deadlines.json";
	struct region *r = ld->r;
	json_t *all = json_object_get(doc, "deadlines"), *d;
	const char *urgency;
	char at[96];

	if (!json_is_object(all)) {
		problem(ld, file, "deadlines: %s",
		        all ? "must be an object (urgency → policy)" : "missing");
		return;
	}
	if (!json_object_get(all, "normal"))
		problem(ld, file, "deadlines.normal: missing (the policy of every other urgency)");
	json_object_foreach(all, urgency, d)
	{
		snprintf(at, sizeof(at), "deadlines.%s", urgency);
		if (!is_ident(urgency)) {
			problem(ld, file, "%s: the urgency is not an identifier (a-z, 0-9, _)", at);
			continue;
		}
		if (r->nurgencies == MAX_URGENCIES) {
			problem(ld, file, "%s: more than %d urgencies", at, MAX_URGENCIES);
			break;
		}
		struct urgency *u = &r->urgencies[r->nurgencies++];
		u->name = urgency;
		load_deadline(ld, d, at, &u->deadline);
	}
}

/* ---- the whole pack ------------------------------------------------------------------------- */

struct region *region_load(const char *dir, char *err, size_t errlen)
{
	static const struct {
		const char *file, *schema;
	} files[] = {{"municipalities.json", "municipalities.v1"},
	             {"authorities.json", "authorities.v1"},
	             {"routing.json", "routing.v1"},
	             {"deadlines.json", "deadlines.v1"},
	             {"calendar.json", "calendar.v1"}};
	struct region *r = xcalloc(1, sizeof(*r));
	struct loader ld = {.r = r};
	char cerr[256];

	for (size_t i = 0; i < 5; i++)
		r->docs[i] = load_doc(&ld, dir, files[i].file, files[i].schema);
	/* Authorities first: the other files refer to them. */
	if (r->docs[1])
		load_authorities(&ld, r->docs[1]);
	if (r->docs[0])
		load_municipalities(&ld, r->docs[0]);
	if (r->docs[2])
		load_routing(&ld, r->docs[2]);
	if (r->auth)
		check_escalation(&ld);
	if (r->docs[3])
		load_deadlines(&ld, r->docs[3]);
	if (r->docs[4] && !(r->cal = workcal_new(r->docs[4], cerr, sizeof(cerr))))
		problem(&ld, "calendar.json", "%s", cerr);
	if (ld.nproblems) {
		snprintf(err, errlen, "%s", ld.problems.buf);
		strbuf_release(&ld.problems);
		region_free(r);
		return NULL;
	}
	strbuf_release(&ld.problems);
	return r;
}

void region_free(struct region *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < 5; i++)
		json_decref(r->docs[i]);
	free(r->auth);
	free(r->auth_pos);
	free(r->muni);
	free(r->rules);
	free(r->auth_ix.slots);
	free(r->muni_ix.slots);
	free(r->rule_ix.slots);
	workcal_free(r->cal);
	free(r);
}

const char *region_name(const struct region *r)
{
	return r->name;
}

const struct region_authority *region_authority(const struct region *r, const char *id)
{
	uint32_t i;

	return r->auth_ix.slots && index_get(&r->auth_ix, id, "", &i) ? &r->auth[i] : NULL;
}

const struct region_municipality *region_municipality(const struct region *r, const char *id)
{
	uint32_t i;

	return r->muni_ix.slots && index_get(&r->muni_ix, id, "", &i) ? &r->muni[i] : NULL;
}

size_t region_authority_count(const struct region *r)
{
	return r->nauth;
}

const struct region_authority *region_authority_at(const struct region *r, size_t i)
{
	return i < r->nauth ? &r->auth[i] : NULL;
}

size_t region_municipality_count(const struct region *r)
{
	return r->nmuni;
}

const struct region_municipality *region_municipality_at(const struct region *r, size_t i)
{
	return i < r->nmuni ? &r->muni[i] : NULL;
}

static bool rule_lookup(const struct region *r, const char *code, const char *muni,
                        struct region_route *out)
{
	uint32_t i;

	if (!index_get(&r->rule_ix, code, muni, &i))
		return false;
	*out = (struct region_route){.authority = r->rules[i].authority, .rule_id = r->rules[i].id};
	return true;
}

struct region_route region_route(const struct region *r, const char *topic, const char *subtopic,
                                 const char *municipality)
{
	const struct region_municipality *m =
	        municipality ? region_municipality(r, municipality) : NULL;
	struct region_route route;
	int t;

	if (!topic) /* required; treated as a topic no rule names rather than a crash */
		topic = "";
	/* A sub-topic of another topic is the classifier's inconsistency: the topic decides. */
	if (subtopic && !subtopic_of(subtopic, topic))
		subtopic = NULL;
	if ((subtopic && m && rule_lookup(r, subtopic, m->id, &route)) ||
	    (subtopic && rule_lookup(r, subtopic, "*", &route)) ||
	    (m && rule_lookup(r, topic, m->id, &route)) || rule_lookup(r, topic, "*", &route))
		return route;
	if (!m && (t = topic_index(topic)) >= 0 && r->topic_owner[t])
		return (struct region_route){r->topic_owner[t], "fallback:topic_owner"};
	if (m)
		return (struct region_route){region_authority(r, m->administration),
		                             "fallback:administration"};
	return (struct region_route){r->duty_desk, "fallback:duty_desk"};
}

const struct region_deadline *region_deadline(const struct region *r, const char *urgency)
{
	const struct region_deadline *normal = NULL;

	for (size_t i = 0; i < r->nurgencies; i++) {
		if (urgency && strcmp(r->urgencies[i].name, urgency) == 0)
			return &r->urgencies[i].deadline;
		if (strcmp(r->urgencies[i].name, "normal") == 0)
			normal = &r->urgencies[i].deadline;
	}
	return normal;
}

const struct workcal *region_calendar(const struct region *r)
{
	return r->cal;
}

json_t *region_authority_json(const struct region_authority *a)
{
	if (!a)
		return json_null();
	/* A deep copy: the event is the caller's to change, the pack is shared by threads. */
	return json_pack("{s:s, s:s, s:o, s:o}", "id", a->id, "name", a->name, "parent",
	                 a->parent ? json_string(a->parent) : json_null(), "channels",
	                 json_deep_copy(a->channels));
}
