/*
 * place: the municipality resolver (see place.h). Loading validates the region pack and builds
 * two hash maps of normalised forms (word sequences and stem sequences); resolving tokenises
 * the text, takes leftmost-longest matches, filters streets, gives each mention a role, and
 * decides between the text, the coordinates and the community name.
 */
#include "place.h"

#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doc.h"
#include "hash.h"
#include "text.h"
#include "utf8.h"
#include "xalloc.h"

#define SETTLEMENT_KM 15.0
#define CENTRE_KM 60.0
#define CLOSE_CALL_KM 1.0
#define MIN_STEM_LETTERS 5 /* a stem match needs a word stem at least this long */
#define MAX_MENTIONS 64    /* per text; later ones are not read */
#define MAX_TALLIES 16     /* distinct municipalities weighed per text */

/* ---- the gazetteer ------------------------------------------------------------------------- */

struct municipality {
	char *id, *name;
	bool has_centre;
	double lat, lon;
};

struct settlement {
	char *name;
	uint32_t muni;
	double lat, lon;
	bool ambiguous, approx;
};

struct claim {
	uint32_t muni;
	int32_t settlement; /* -1: the municipality's own form */
};

struct form {
	char *key; /* normalised words (or stems) joined by single spaces */
	size_t key_len;
	uint64_t hash;
	char *stem_key; /* words map only: the stems joined, for the stem map */
	uint32_t nwords;
	uint32_t stem_letters; /* code points of the longest word stem */
	uint32_t nclaims, cap;
	struct claim *claims;
	uint32_t nmunis;      /* distinct municipalities among the claims */
	bool ambiguous_claim; /* listed by a settlement flagged ambiguous */
	bool is_name;         /* some claim is a "name" or "short" itself */
	bool ambiguous;       /* counts only with support */
	bool lead_prep;       /* the first word is в/во/на/по/у: it gives the role */
	bool lead_marker;     /* the first word is a settlement word (с., п., г., ...) */
	bool has_marker;      /* some word before the last is a settlement word */
};

struct form_map {
	struct form *forms;
	size_t n, cap;
	uint32_t *slots; /* index + 1; 0 is empty */
	size_t nslots;   /* a power of two */
};

struct gazetteer {
	struct municipality *munis;
	size_t nmunis;
	struct settlement *sets;
	size_t nsets;
	struct form_map words, stems;
	uint32_t max_words;
	/* The hashes of every form's first words that are not the whole form, of both maps
	 * (0 marks an empty slot): a scan stops lengthening a sequence that starts no form. */
	uint64_t *prefixes;
	size_t nprefixes; /* slots, a power of two */
};

/* ---- word lists ------------------------------------------------------------------------------ */

static bool in_list(const char *w, const char *const *list)
{
	if (!w)
		return false;
	for (; *list; list++)
		if (strcmp(w, *list) == 0)
			return true;
	return false;
}

/* Words that say the next name is a settlement: support for an ambiguous form. */
static const char *const settlement_words[] = {
        "п",       "пос",     "поселок", "поселка", "поселке", "поселку", "пгт",     "рп",
        "с",       "село",    "села",    "селе",    "селу",    "д",       "дер",     "деревня",
        "деревни", "деревне", "аал",     "аала",    "аале",    "ст",      "станция", "станции",
        "г",       "гор",     "город",   "города",  "городе",  "городу",  NULL,
};

/* Words before a name that make it a street or an institution's patron, not a place: «ул.
 * Аскизская», «улица Бограда», «школа имени ...». */
static const char *const street_before[] = {
        "ул",       "улица",     "улице",  "улицу",    "улицей",   "пр",      "просп",
        "проспект", "проспекте", "пер",    "переулок", "переулке", "бульвар", "бульваре",
        "шоссе",    "тракт",     "тракте", "проезд",   "проезде",  "имени",   NULL,
};

/* The same only before an adjective: «микрорайон Черногорский», but «в Енисейском микрорайоне
 * Саяногорска», «улицы Абакана» (its streets), «набережная Абакана» name the town. */
static const char *const street_before_adjective[] = {
        "улицы",      "проспекта",   "переулка",    "бульвара",   "тракта",     "проезда",
        "пл",         "площадь",     "площади",     "набережная", "набережной", "мкр",
        "микрорайон", "микрорайона", "микрорайоне", "квартал",    "квартале",   NULL,
};

/* After an adjective («Аскизская улица»); «Абакан, улица Ленина» is no street of Abakan's. */
static const char *const street_after[] = {
        "ул",       "улица",    "улицы",   "улице", "улицу",   "проспект", "проспекте",
        "переулок", "переулке", "бульвар", "шоссе", "площадь", "проезд",   NULL,
};

/* Before a name: where the problem is. */
static const char *const place_words[] = {
        "у",     "около",    "возле",  "под",    "при",   "по",      "за", "близ",
        "рядом", "напротив", "вблизи", "внутри", "среди", "посреди", NULL,
};

/* Before a name: where someone comes from or goes to. */
static const char *const route_words[] = {
        "из",     "изо",  "до",      "от",          "ото",         "к",        "ко",     "через",
        "с",      "со",   "сторону", "направлении", "направление", "трасса",   "трассе", "трассу",
        "трассы", "рейс", "рейса",   "рейсы",       "маршрут",     "маршрута", NULL,
};

static const char *const lead_preps[] = {"в", "во", "на", "по", "у", NULL};

/* ---- helpers --------------------------------------------------------------------------------- */

static bool ends_with(const char *w, size_t wl, const char *suffix)
{
	size_t sl = strlen(suffix);
	return wl >= sl && memcmp(w + wl - sl, suffix, sl) == 0;
}

/*
 * After «в»/«на», does the name look accusative (a destination: «в Абакан», «на Черногорск»,
 * «в Черемушки») rather than locative («в Абакане», «в Черемушках», «в Хакасии»)? Judged from
 * its last word's ending: a consonant, -у/-ю, -ы, -и (but not -ии), -ий/-ый, -ую/-юю.
 */
static bool looks_accusative(const char *w, size_t wl)
{
	static const char *const acc[] = {"у", "ю", "ы", "ий", "ый", "ую", "юю", NULL};
	static const char *const vowels_and_signs[] = {"а", "е", "и", "о", "у", "ы",
	                                               "э", "ю", "я", "й", NULL};

	if (wl == 0)
		return false;
	for (size_t i = 0; acc[i]; i++)
		if (ends_with(w, wl, acc[i]))
			return true;
	if (ends_with(w, wl, "и"))
		return !ends_with(w, wl, "ии");
	for (size_t i = 0; vowels_and_signs[i]; i++)
		if (ends_with(w, wl, vowels_and_signs[i]))
			return false;
	/* The last character is a consonant (or ь), or not Cyrillic at all: a Latin spelling
	 * gives no case, so only a Cyrillic consonant counts. */
	return (unsigned char)w[wl - 1] >= 0x80;
}

/* A feminine adjective in -ская/-ской/-скую (-цк-): the shape of a street named after a
 * town («Аскизская», «на Абаканской»). */
static bool feminine_adjective(const char *w, size_t wl)
{
	static const char *const f[] = {"ская", "ской", "скую", "цкая", "цкой", "цкую", NULL};
	for (size_t i = 0; f[i]; i++)
		if (ends_with(w, wl, f[i]))
			return true;
	return false;
}

/* Does the word end like an adjective (full form, any case)? */
static bool adjectival_ending(const char *w, size_t wl)
{
	static const char *const endings[] = {"ый", "ий",  "ой",  "ая",  "яя",  "ое", "ее", "ые",
	                                      "ие", "ого", "его", "ому", "ему", "ым", "им", "ом",
	                                      "ем", "ую",  "юю",  "ых",  "их",  NULL};
	for (size_t i = 0; endings[i]; i++)
		if (ends_with(w, wl, endings[i]))
			return true;
	return false;
}

/* Any adjective in -ск-/-цк- («Аскизский», «абаканском», «Черногорская»). */
static bool adjective(const char *w, size_t wl)
{
	static const char *const endings[] = {"ий", "ая", "ое", "ие", "ого", "ой", "ому",
	                                      "ом", "ую", "им", "их", "ими", NULL};
	for (size_t i = 0; endings[i]; i++) {
		size_t el = strlen(endings[i]);
		if (wl > el + 4 && ends_with(w, wl - el, "ск") && ends_with(w, wl, endings[i]))
			return true;
		if (wl > el + 4 && ends_with(w, wl - el, "цк") && ends_with(w, wl, endings[i]))
			return true;
	}
	return false;
}

/* ---- form maps ------------------------------------------------------------------------------- */

static void map_rehash(struct form_map *m, size_t nslots)
{
	free(m->slots);
	m->slots = xcalloc(nslots, sizeof(*m->slots));
	m->nslots = nslots;
	for (size_t i = 0; i < m->n; i++) {
		size_t s = (size_t)m->forms[i].hash & (nslots - 1);
		while (m->slots[s])
			s = (s + 1) & (nslots - 1);
		m->slots[s] = (uint32_t)(i + 1);
	}
}

static struct form *map_find_key(const struct form_map *m, const char *key, size_t len, uint64_t h)
{
	if (!m->nslots)
		return NULL;
	for (size_t s = (size_t)h & (m->nslots - 1); m->slots[s]; s = (s + 1) & (m->nslots - 1)) {
		struct form *f = &m->forms[m->slots[s] - 1];
		if (f->hash == h && f->key_len == len && memcmp(f->key, key, len) == 0)
			return f;
	}
	return NULL;
}

/* The entry for key, created empty when missing. */
static struct form *map_get(struct form_map *m, const char *key)
{
	size_t len = strlen(key);
	uint64_t h = fnv1a64(FNV1A64_OFFSET, key, len);
	struct form *f = map_find_key(m, key, len, h);

	if (f)
		return f;
	if (m->n == m->cap) {
		m->cap = m->cap ? 2 * m->cap : 64;
		m->forms = xrealloc(m->forms, m->cap * sizeof(*m->forms));
	}
	f = &m->forms[m->n++];
	memset(f, 0, sizeof(*f));
	f->key = xstrdup(key);
	f->key_len = len;
	f->hash = h;
	if ((m->n + 1) * 2 > m->nslots)
		map_rehash(m, m->nslots ? 2 * m->nslots : 128);
	else {
		size_t s = (size_t)h & (m->nslots - 1);
		while (m->slots[s])
			s = (s + 1) & (m->nslots - 1);
		m->slots[s] = (uint32_t)m->n;
	}
	return f;
}

static void form_add_claim(struct form *f, uint32_t muni, int32_t settlement)
{
	for (uint32_t i = 0; i < f->nclaims; i++)
		if (f->claims[i].muni == muni && f->claims[i].settlement == settlement)
			return;
	if (f->nclaims == f->cap) {
		f->cap = f->cap ? 2 * f->cap : 2;
		f->claims = xrealloc(f->claims, f->cap * sizeof(*f->claims));
	}
	f->claims[f->nclaims].muni = muni;
	f->claims[f->nclaims].settlement = settlement;
	f->nclaims++;
}

static bool form_claims_muni(const struct form *f, uint32_t muni)
{
	for (uint32_t i = 0; i < f->nclaims; i++)
		if (f->claims[i].muni == muni)
			return true;
	return false;
}

/* Counts distinct municipalities and sets the word facts the resolver needs. */
static void form_finish(struct form *f)
{
	const char *p = f->key, *end = f->key + f->key_len;
	uint32_t w = 0;

	f->nmunis = 0;
	for (uint32_t i = 0; i < f->nclaims; i++) {
		bool seen = false;
		for (uint32_t j = 0; j < i; j++)
			seen = seen || f->claims[j].muni == f->claims[i].muni;
		if (!seen)
			f->nmunis++;
	}
	f->has_marker = false;
	while (p < end) {
		const char *sp = memchr(p, ' ', (size_t)(end - p));
		size_t wl = sp ? (size_t)(sp - p) : (size_t)(end - p);
		char word[64];
		bool marker = false;

		if (wl < sizeof(word)) {
			memcpy(word, p, wl);
			word[wl] = '\0';
			marker = in_list(word, settlement_words);
			if (w == 0) {
				f->lead_marker = marker;
				f->lead_prep = in_list(word, lead_preps);
			}
		}
		if (sp && marker)
			f->has_marker = true;
		w++;
		p = sp ? sp + 1 : end;
	}
	f->nwords = w;
	f->ambiguous = f->nmunis > 1 || (f->ambiguous_claim && !f->lead_marker);
}

static void map_free(struct form_map *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->forms[i].key);
		free(m->forms[i].stem_key);
		free(m->forms[i].claims);
	}
	free(m->forms);
	free(m->slots);
	memset(m, 0, sizeof(*m));
}

/* ---- loading --------------------------------------------------------------------------------- */

struct loader {
	struct gazetteer *g;
	struct text_pipeline *tp;
	char *err;
	size_t errlen;
};

/* Adds the form s (found at `where`) for municipality muni (and settlement, or -1). */
static int add_form(struct loader *ld, const char *s, uint32_t muni, int32_t settlement,
                    bool ambiguous_settlement, bool is_name, const char *where)
{
	struct token toks[PLACE_MAX_FORM_WORDS + 1];
	size_t n = text_tokens(ld->tp, s, strlen(s), toks, PLACE_MAX_FORM_WORDS + 1);
	char key[PLACE_MAX_FORM_WORDS * 64], stem_key[sizeof(key)];
	size_t kl = 0, sl = 0;
	uint32_t stem_letters = 0;
	struct form *f;

	if (n == 0) {
		doc_err(ld->err, ld->errlen, "%s: no words after normalisation", where);
		return -1;
	}
	if (n > PLACE_MAX_FORM_WORDS) {
		doc_err(ld->err, ld->errlen, "%s: more than %d words", where, PLACE_MAX_FORM_WORDS);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (kl + toks[i].word_len + 2 > sizeof(key) ||
		    sl + toks[i].stem_len + 2 > sizeof(stem_key)) {
			doc_err(ld->err, ld->errlen, "%s: too long", where);
			return -1;
		}
		if (i) {
			key[kl++] = ' ';
			stem_key[sl++] = ' ';
		}
		memcpy(key + kl, toks[i].word, toks[i].word_len);
		kl += toks[i].word_len;
		memcpy(stem_key + sl, toks[i].stem, toks[i].stem_len);
		sl += toks[i].stem_len;
		if (!(toks[i].flags & TOKEN_NUMBER)) {
			size_t letters = utf8_length(toks[i].stem, toks[i].stem_len);
			if (letters > stem_letters)
				stem_letters = (uint32_t)letters;
		}
	}
	key[kl] = '\0';
	stem_key[sl] = '\0';
	f = map_get(&ld->g->words, key);
	if (!f->stem_key) {
		f->stem_key = xstrdup(stem_key);
		f->stem_letters = stem_letters;
	}
	form_add_claim(f, muni, settlement);
	if (ambiguous_settlement)
		f->ambiguous_claim = true;
	if (is_name)
		f->is_name = true;
	return 0;
}

static bool valid_id(const char *s)
{
	if (!*s || strlen(s) > 64)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' ||
		      *s == '-'))
			return false;
	return true;
}

/* A string member: 1 found, 0 absent, -1 present but not a non-empty string (err set). */
static int get_string(struct loader *ld, const json_t *obj, const char *key, const char *where,
                      const char **out)
{
	const json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (!v)
		return 0;
	if (!json_is_string(v) || json_string_length(v) == 0) {
		doc_err(ld->err, ld->errlen, "%s.%s: must be a non-empty string", where, key);
		return -1;
	}
	*out = json_string_value(v);
	return 1;
}

/* Reads "lat" and "lon" of obj (both required) and checks their ranges. */
static int get_coords(struct loader *ld, const json_t *obj, const char *where, double *lat,
                      double *lon)
{
	const json_t *la = json_object_get(obj, "lat"), *lo = json_object_get(obj, "lon");

	if (!la || !lo) {
		doc_err(ld->err, ld->errlen, "%s: missing %s", where, !la ? "lat" : "lon");
		return -1;
	}
	if (!json_is_number(la) || !json_is_number(lo)) {
		doc_err(ld->err, ld->errlen, "%s: %s must be a number", where,
		        !json_is_number(la) ? "lat" : "lon");
		return -1;
	}
	*lat = json_number_value(la);
	*lon = json_number_value(lo);
	if (!(*lat >= -90.0 && *lat <= 90.0)) {
		doc_err(ld->err, ld->errlen, "%s: lat out of range", where);
		return -1;
	}
	if (!(*lon >= -180.0 && *lon <= 180.0)) {
		doc_err(ld->err, ld->errlen, "%s: lon out of range", where);
		return -1;
	}
	return 0;
}

static int get_flag(struct loader *ld, const json_t *obj, const char *key, const char *where,
                    bool *out)
{
	const json_t *v = json_object_get(obj, key);

	*out = false;
	if (!v)
		return 0;
	if (!json_is_boolean(v)) {
		doc_err(ld->err, ld->errlen, "%s.%s: must be true or false", where, key);
		return -1;
	}
	*out = json_is_true(v);
	return 0;
}

/* Adds every string of the optional array obj[key]; returns how many, or -1. */
static int add_form_list(struct loader *ld, const json_t *obj, const char *key, const char *where,
                         uint32_t muni, int32_t settlement, bool ambiguous)
{
	const json_t *arr = json_object_get(obj, key);
	size_t i;
	const json_t *v;
	char at[320];

	if (!arr)
		return 0;
	if (!json_is_array(arr)) {
		doc_err(ld->err, ld->errlen, "%s.%s: must be an array of strings", where, key);
		return -1;
	}
	json_array_foreach(arr, i, v)
	{
		snprintf(at, sizeof(at), "%s.%s[%zu]", where, key, i);
		if (!json_is_string(v)) {
			doc_err(ld->err, ld->errlen, "%s: must be a string", at);
			return -1;
		}
		if (add_form(ld, json_string_value(v), muni, settlement, ambiguous, false, at) < 0)
			return -1;
	}
	return (int)json_array_size(arr);
}

static int load_settlement(struct loader *ld, const json_t *s, uint32_t muni, const char *where)
{
	struct gazetteer *g = ld->g;
	struct settlement *st;
	const char *name;
	bool ambiguous, approx;
	double lat, lon;
	char at[192];

	if (!json_is_object(s)) {
		doc_err(ld->err, ld->errlen, "%s: must be an object", where);
		return -1;
	}
	if (get_string(ld, s, "name", where, &name) < 0)
		return -1;
	if (!name) {
		doc_err(ld->err, ld->errlen, "%s: missing name", where);
		return -1;
	}
	if (get_coords(ld, s, where, &lat, &lon) < 0 ||
	    get_flag(ld, s, "ambiguous", where, &ambiguous) < 0 ||
	    get_flag(ld, s, "approx", where, &approx) < 0)
		return -1;
	g->sets = xrealloc(g->sets, (g->nsets + 1) * sizeof(*g->sets));
	st = &g->sets[g->nsets];
	st->name = xstrdup(name);
	st->muni = muni;
	st->lat = lat;
	st->lon = lon;
	st->ambiguous = ambiguous;
	st->approx = approx;
	g->nsets++;
	snprintf(at, sizeof(at), "%s.name", where);
	if (add_form(ld, name, muni, (int32_t)(g->nsets - 1), ambiguous, true, at) < 0)
		return -1;
	return add_form_list(ld, s, "forms", where, muni, (int32_t)(g->nsets - 1), ambiguous) < 0
	               ? -1
	               : 0;
}

static int load_municipality(struct loader *ld, const json_t *m, size_t idx)
{
	struct gazetteer *g = ld->g;
	struct municipality *mu;
	const char *id, *name, *short_name;
	const json_t *centre, *sets, *s;
	char where[64], at[128];
	uint32_t self = (uint32_t)g->nmunis;
	size_t i;

	snprintf(where, sizeof(where), "municipalities[%zu]", idx);
	if (!json_is_object(m)) {
		doc_err(ld->err, ld->errlen, "%s: must be an object", where);
		return -1;
	}
	if (get_string(ld, m, "id", where, &id) < 0 ||
	    get_string(ld, m, "name", where, &name) < 0 ||
	    get_string(ld, m, "short", where, &short_name) < 0)
		return -1;
	if (!id) {
		doc_err(ld->err, ld->errlen, "%s: missing id", where);
		return -1;
	}
	if (!valid_id(id)) {
		doc_err(ld->err, ld->errlen,
		        "%s: id \"%s\" must be 1 to 64 of a-z, 0-9, '_' and '-'", where, id);
		return -1;
	}
	for (i = 0; i < g->nmunis; i++) {
		if (strcmp(g->munis[i].id, id) == 0) {
			doc_err(ld->err, ld->errlen,
			        "%s: duplicate id \"%s\" (also municipalities[%zu])", where, id, i);
			return -1;
		}
	}
	if (!name) {
		doc_err(ld->err, ld->errlen, "%s: missing name", where);
		return -1;
	}
	g->munis = xrealloc(g->munis, (g->nmunis + 1) * sizeof(*g->munis));
	mu = &g->munis[g->nmunis++];
	memset(mu, 0, sizeof(*mu));
	mu->id = xstrdup(id);
	mu->name = xstrdup(name);

	centre = json_object_get(m, "center");
	if (centre) {
		snprintf(at, sizeof(at), "%s.center", where);
		if (!json_is_object(centre)) {
			doc_err(ld->err, ld->errlen, "%s: must be an object", at);
			return -1;
		}
		if (get_coords(ld, centre, at, &mu->lat, &mu->lon) < 0)
			return -1;
		mu->has_centre = true;
	}

	snprintf(at, sizeof(at), "%s.name", where);
	if (add_form(ld, name, self, -1, false, true, at) < 0)
		return -1;
	if (short_name) {
		snprintf(at, sizeof(at), "%s.short", where);
		if (add_form(ld, short_name, self, -1, false, true, at) < 0)
			return -1;
	}
	if (add_form_list(ld, m, "forms", where, self, -1, false) < 0 ||
	    add_form_list(ld, m, "aliases", where, self, -1, false) < 0)
		return -1;

	sets = json_object_get(m, "settlements");
	if (sets && !json_is_array(sets)) {
		doc_err(ld->err, ld->errlen, "%s.settlements: must be an array", where);
		return -1;
	}
	json_array_foreach(sets, i, s)
	{
		snprintf(at, sizeof(at), "%s.settlements[%zu]", where, i);
		if (load_settlement(ld, s, self, at) < 0)
			return -1;
	}
	return 0;
}

/* Builds the stem map from the word map once every form is in. */
static uint64_t prefix_slot_key(uint64_t h)
{
	return h ? h : 1;
}

static bool prefix_has(const struct gazetteer *g, uint64_t h)
{
	uint64_t k = prefix_slot_key(h);

	for (size_t s = (size_t)k & (g->nprefixes - 1); g->prefixes[s];
	     s = (s + 1) & (g->nprefixes - 1))
		if (g->prefixes[s] == k)
			return true;
	return false;
}

static void prefix_add(struct gazetteer *g, uint64_t h)
{
	uint64_t k = prefix_slot_key(h);
	size_t s = (size_t)k & (g->nprefixes - 1);

	while (g->prefixes[s] && g->prefixes[s] != k)
		s = (s + 1) & (g->nprefixes - 1);
	g->prefixes[s] = k;
}

/* The hash of every proper prefix of whole words of every form (as scan hashes them). */
static void build_prefixes(struct gazetteer *g)
{
	const struct form_map *maps[] = {&g->words, &g->stems};
	size_t words = 0;

	for (size_t m = 0; m < 2; m++)
		for (size_t i = 0; i < maps[m]->n; i++)
			words += maps[m]->forms[i].nwords;
	g->nprefixes = 16;
	while (g->nprefixes < 2 * words)
		g->nprefixes *= 2;
	g->prefixes = xcalloc(g->nprefixes, sizeof(*g->prefixes));
	for (size_t m = 0; m < 2; m++)
		for (size_t i = 0; i < maps[m]->n; i++) {
			const struct form *f = &maps[m]->forms[i];
			for (size_t at = 0; at < f->key_len; at++)
				if (f->key[at] == ' ')
					prefix_add(g, fnv1a64(FNV1A64_OFFSET, f->key, at));
		}
}

static void build_stems(struct gazetteer *g)
{
	for (size_t i = 0; i < g->words.n; i++) {
		struct form *w = &g->words.forms[i];
		struct form *s;

		form_finish(w);
		if (w->nwords > g->max_words)
			g->max_words = w->nwords;
		/* Adjectival names («Жемчужный», «Приисковое») stem like everyday adjectives
		 * («жемчужное ожерелье»): they match as listed only. */
		if (w->stem_letters < MIN_STEM_LETTERS || strcmp(w->stem_key, w->key) == 0 ||
		    adjectival_ending(w->key, w->key_len))
			continue;
		s = map_get(&g->stems, w->stem_key);
		for (uint32_t c = 0; c < w->nclaims; c++)
			form_add_claim(s, w->claims[c].muni, w->claims[c].settlement);
		if (w->ambiguous)
			s->ambiguous_claim = true;
	}
	for (size_t i = 0; i < g->stems.n; i++) {
		struct form *s = &g->stems.forms[i];
		bool ambiguous_source = s->ambiguous_claim;
		form_finish(s);
		/* A stem shared with an ambiguous form is ambiguous, whatever its first word. */
		s->ambiguous = s->ambiguous || ambiguous_source;
	}
}

/* The loaded object, for doc_load. */
static void *load_json(const json_t *root, const char *name, char *err, size_t errlen)
{
	struct gazetteer *g = xcalloc(1, sizeof(*g));
	struct loader ld = {g, NULL, err, errlen};
	const json_t *schema, *munis, *m;
	size_t i;

	if (!json_is_object(root)) {
		doc_err(err, errlen, "%s: the top level must be an object", name);
		goto fail;
	}
	schema = json_object_get(root, "schema");
	if (schema && (!json_is_string(schema) ||
	               strcmp(json_string_value(schema), "municipalities.v1") != 0)) {
		doc_err(err, errlen, "%s: schema must be \"municipalities.v1\"", name);
		goto fail;
	}
	munis = json_object_get(root, "municipalities");
	if (!json_is_array(munis) || json_array_size(munis) == 0) {
		doc_err(err, errlen, "%s: municipalities must be a non-empty array", name);
		goto fail;
	}
	ld.tp = text_new(err, errlen);
	if (!ld.tp)
		goto fail;
	json_array_foreach(munis, i, m)
	{
		if (load_municipality(&ld, m, i) < 0)
			goto fail;
	}
	build_stems(g);
	build_prefixes(g);
	text_free(ld.tp);
	return g;
fail:
	text_free(ld.tp);
	gazetteer_free(g);
	return NULL;
}

struct gazetteer *gazetteer_load(const char *path, char *err, size_t errlen)
{
	return doc_load(path, NULL, 0, load_json, err, errlen);
}

struct gazetteer *gazetteer_load_mem(const char *data, size_t len, const char *name, char *err,
                                     size_t errlen)
{
	return doc_load(name, data, len, load_json, err, errlen);
}

void gazetteer_free(struct gazetteer *g)
{
	if (!g)
		return;
	for (size_t i = 0; i < g->nmunis; i++) {
		free(g->munis[i].id);
		free(g->munis[i].name);
	}
	for (size_t i = 0; i < g->nsets; i++)
		free(g->sets[i].name);
	free(g->munis);
	free(g->sets);
	map_free(&g->words);
	map_free(&g->stems);
	free(g->prefixes);
	free(g);
}

size_t gazetteer_count(const struct gazetteer *g)
{
	return g->nmunis;
}

const char *gazetteer_id(const struct gazetteer *g, size_t i)
{
	return g->munis[i].id;
}

const char *gazetteer_name(const struct gazetteer *g, size_t i)
{
	return g->munis[i].name;
}

const char *place_method_name(enum place_method m)
{
	switch (m) {
	case PLACE_TEXT:
		return "text";
	case PLACE_COORDINATES:
		return "coordinates";
	case PLACE_COMMUNITY:
		return "community";
	case PLACE_NONE:
		break;
	}
	return "none";
}

/* ---- matching -------------------------------------------------------------------------------- */

enum role { ROLE_OTHER, ROLE_PLACE, ROLE_ROUTE };

static const int role_points[] = {[ROLE_OTHER] = 2, [ROLE_PLACE] = 3, [ROLE_ROUTE] = 1};

struct mention {
	uint32_t start, len; /* in tokens */
	const struct form *form;
	enum role role;
	bool supported; /* a settlement word stands before it */
};

/* Does key equal the words (or stems) of toks[start..start+n) joined by spaces? */
static bool key_equals(const struct form *f, const struct token *toks, size_t start, size_t n,
                       bool stems)
{
	const char *k = f->key, *end = f->key + f->key_len;

	for (size_t i = 0; i < n; i++) {
		const char *w = stems ? toks[start + i].stem : toks[start + i].word;
		size_t wl = stems ? toks[start + i].stem_len : toks[start + i].word_len;
		if (i) {
			if (k >= end || *k != ' ')
				return false;
			k++;
		}
		if ((size_t)(end - k) < wl || memcmp(k, w, wl) != 0)
			return false;
		k += wl;
	}
	return k == end;
}

static const struct form *map_find_tokens(const struct form_map *m, uint64_t h,
                                          const struct token *toks, size_t start, size_t n,
                                          bool stems)
{
	if (!m->nslots)
		return NULL;
	for (size_t s = (size_t)h & (m->nslots - 1); m->slots[s]; s = (s + 1) & (m->nslots - 1)) {
		const struct form *f = &m->forms[m->slots[s] - 1];
		if (f->hash == h && f->nwords == n && key_equals(f, toks, start, n, stems))
			return f;
	}
	return NULL;
}

static const char *tok_word(const struct token *toks, size_t n, size_t i)
{
	return i < n ? toks[i].word : NULL;
}

/* Why a match is a street or an institution's patron rather than a place (see place.h). */
static bool is_street(const struct token *toks, size_t n, size_t start, size_t len,
                      const char *prep)
{
	const struct token *last = &toks[start + len - 1];
	const char *before = start > 0 ? toks[start - 1].word : NULL;
	size_t next = start + len;
	bool house_number = next < n && (toks[next].flags & TOKEN_NUMBER);
	bool na_po = prep && (strcmp(prep, "на") == 0 || strcmp(prep, "по") == 0);
	bool adj = adjective(last->word, last->word_len);

	if (in_list(before, street_before) || (adj && in_list(before, street_before_adjective)))
		return true;
	if (adj && in_list(tok_word(toks, n, next), street_after))
		return true;
	if (feminine_adjective(last->word, last->word_len) && (na_po || house_number))
		return true;
	return na_po && house_number;
}

/*
 * Finds the mentions in toks[0..n): leftmost-longest, exact words before stems at the same
 * length, streets dropped, roles given. Returns their number (at most MAX_MENTIONS).
 */
static size_t scan(const struct gazetteer *g, const struct token *toks, size_t n,
                   struct mention *out)
{
	size_t nm = 0;

	for (size_t i = 0; i < n && nm < MAX_MENTIONS;) {
		const struct form *best = NULL;
		size_t best_len = 0;
		uint64_t hw = FNV1A64_OFFSET, hs = FNV1A64_OFFSET;
		const char *prep, *before;
		struct mention *m;

		for (size_t L = 1; L <= g->max_words && i + L <= n; L++) {
			const struct token *t = &toks[i + L - 1];
			const struct form *f;
			if (L == 1) {
				hw = t->word_fnv;
				hs = t->stem_fnv;
			} else {
				hw = fnv1a64(fnv1a64(hw, " ", 1), t->word, t->word_len);
				hs = fnv1a64(fnv1a64(hs, " ", 1), t->stem, t->stem_len);
			}
			f = map_find_tokens(&g->words, hw, toks, i, L, false);
			if (!f)
				f = map_find_tokens(&g->stems, hs, toks, i, L, true);
			if (f) {
				best = f;
				best_len = L;
			}
			if (!prefix_has(g, hw) && !prefix_has(g, hs))
				break; /* no longer form starts with these words */
		}
		if (!best) {
			i++;
			continue;
		}

		/* The word that gives the role: the form's own preposition («в абакане»), or
		 * the word before it, looking past a settlement word («в поселке Зеленый»). */
		before = i > 0 ? toks[i - 1].word : NULL;
		prep = best->lead_prep ? toks[i].word : before;
		m = &out[nm];
		memset(m, 0, sizeof(*m));
		m->start = (uint32_t)i;
		m->len = (uint32_t)best_len;
		m->form = best;
		/* «с» is a preposition too: before an unambiguous form that is not a settlement's
		 * name it is one («с Абаканом», «с Абакана»), not «с.» for «село». */
		if (!best->lead_prep && in_list(before, settlement_words) &&
		    (strcmp(before, "с") != 0 || best->ambiguous || best->is_name)) {
			m->supported = true;
			prep = i > 1 ? toks[i - 2].word : NULL;
		}
		if (is_street(toks, n, i, best_len, prep)) {
			i += best_len;
			continue;
		}
		if (!prep) {
			m->role = ROLE_OTHER;
		} else if (in_list(prep, route_words)) {
			m->role = ROLE_ROUTE;
		} else if (strcmp(prep, "в") == 0 || strcmp(prep, "во") == 0 ||
		           strcmp(prep, "на") == 0) {
			const struct token *last = &toks[i + best_len - 1];
			bool nominative = m->supported || best->has_marker || best->lead_marker;
			m->role = !nominative && looks_accusative(last->word, last->word_len)
			                  ? ROLE_ROUTE
			                  : ROLE_PLACE;
		} else if (in_list(prep, place_words)) {
			m->role = ROLE_PLACE;
		} else {
			m->role = ROLE_OTHER;
		}
		nm++;
		i += best_len;
	}

	/* Two names of different municipalities side by side: a route («Абакан — Черногорск»). */
	for (size_t k = 0; k + 1 < nm; k++) {
		const struct mention *a = &out[k], *b = &out[k + 1];
		bool shared = false;
		if (b->start != a->start + a->len)
			continue;
		for (uint32_t c = 0; c < a->form->nclaims; c++)
			shared = shared || form_claims_muni(b->form, a->form->claims[c].muni);
		if (!shared) {
			out[k].role = ROLE_ROUTE;
			out[k + 1].role = ROLE_ROUTE;
		}
	}
	return nm;
}

/* ---- deciding -------------------------------------------------------------------------------- */

struct tally {
	uint32_t muni;
	int points;
	uint32_t first;   /* start of its first mention */
	bool nonroute;    /* some counted mention is not a route */
	bool strong;      /* some unambiguous mention is not a route */
	bool unambiguous; /* some mention is unambiguous */
	int32_t settlement;
};

struct decision {
	size_t nt;
	struct tally t[MAX_TALLIES];
	int winner; /* index into t, or -1 */
	int total;  /* points of all */
	bool counted[MAX_MENTIONS];
};

static struct tally *tally_of(struct decision *d, uint32_t muni, uint32_t start)
{
	for (size_t i = 0; i < d->nt; i++)
		if (d->t[i].muni == muni)
			return &d->t[i];
	if (d->nt == MAX_TALLIES)
		return NULL;
	d->t[d->nt] = (struct tally){.muni = muni, .first = start, .settlement = -1};
	return &d->t[d->nt++];
}

/*
 * Weighs the mentions. An ambiguous mention counts for the municipalities it claims that are
 * supported: all of them after a settlement word (or, with first_free, as the first word of a
 * community name), otherwise those named unambiguously elsewhere or in ctx[0..nctx).
 */
static void decide(const struct mention *ms, size_t nm, const int *ctx, size_t nctx,
                   bool first_free, struct decision *d)
{
	memset(d, 0, sizeof(*d));
	d->winner = -1;
	for (int pass = 0; pass < 2; pass++) {
		for (size_t k = 0; k < nm; k++) {
			const struct mention *m = &ms[k];
			const struct form *f = m->form;
			bool all = m->supported || (first_free && m->start == 0);

			if (f->ambiguous != (pass == 1))
				continue; /* unambiguous ones first: they support the others */
			for (uint32_t c = 0; c < f->nclaims; c++) {
				uint32_t mu = f->claims[c].muni;
				struct tally *t = NULL;
				bool ok = !f->ambiguous || all;
				bool dup = false;

				for (uint32_t c2 = 0; c2 < c; c2++)
					dup = dup || f->claims[c2].muni == mu;
				if (dup)
					continue;
				for (size_t x = 0; !ok && x < nctx; x++)
					ok = ctx[x] == (int)mu;
				for (size_t x = 0; !ok && x < d->nt; x++)
					ok = d->t[x].muni == mu && d->t[x].unambiguous;
				if (!ok || !(t = tally_of(d, mu, m->start)))
					continue;
				d->counted[k] = true;
				t->points += role_points[m->role];
				d->total += role_points[m->role];
				if (m->start < t->first)
					t->first = m->start;
				if (m->role != ROLE_ROUTE) {
					t->nonroute = true;
					if (!f->ambiguous)
						t->strong = true;
				}
				if (!f->ambiguous)
					t->unambiguous = true;
				if (t->settlement < 0 && f->claims[c].settlement >= 0)
					t->settlement = f->claims[c].settlement;
			}
		}
	}
	for (size_t i = 0; i < d->nt; i++) {
		const struct tally *t = &d->t[i], *w = d->winner >= 0 ? &d->t[d->winner] : NULL;
		if (!w || t->points > w->points || (t->points == w->points && t->first < w->first))
			d->winner = (int)i;
	}
}

/* ---- evidence as written ----------------------------------------------------------------------- */

static uint32_t fold_cp(uint32_t c)
{
	if (c >= 'A' && c <= 'Z')
		return c + 32;
	if (c == 0x0401 || c == 0x0451)
		return 0x0435;
	if (c >= 0x0410 && c <= 0x042F)
		return c + 0x20;
	if (c >= 0x0400 && c <= 0x040F)
		return c + 0x50;
	return c;
}

static bool letter_cp(uint32_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= 0x00C0 && c <= 0x024F && c != 0x00D7 && c != 0x00F7) ||
	       (c >= 0x0370 && c <= 0x052F);
}

static bool ignorable_cp(uint32_t c)
{
	return (c >= 0x0300 && c <= 0x036F) || c == 0x00AD || c == 0x200C || c == 0x200D;
}

/* The code point at s[i] and its length (1 for an invalid byte, read as U+FFFD). */
static uint32_t cp_at(const char *s, size_t len, size_t i, size_t *adv)
{
	size_t k = utf8_seq_len(s + i, len - i);
	if (!k) {
		*adv = 1;
		return 0xFFFD;
	}
	*adv = k;
	return utf8_decode(s + i, k);
}

static bool letter_before(const char *s, size_t len, size_t i)
{
	size_t j = i, adv;
	if (i == 0)
		return false;
	j--;
	while (j > 0 && i - j < 4 && ((unsigned char)s[j] & 0xC0) == 0x80)
		j--;
	return letter_cp(cp_at(s, len, j, &adv)) && j + adv == i;
}

/* Does the normalised word w match s at i, ending at a word boundary? *end is set past it. */
static bool word_at(const char *s, size_t len, size_t i, const char *w, size_t wl, size_t *end)
{
	size_t j = 0, adv, wadv;

	while (j < wl) {
		uint32_t c, wc;
		if (i >= len)
			return false;
		c = cp_at(s, len, i, &adv);
		if (ignorable_cp(c) && j > 0) {
			i += adv;
			continue;
		}
		wc = cp_at(w, wl, j, &wadv);
		if (fold_cp(c) != wc)
			return false;
		i += adv;
		j += wadv;
	}
	if (i < len && letter_cp(cp_at(s, len, i, &adv)))
		return false;
	*end = i;
	return true;
}

/* Finds the words toks[start..start+n) in s from *from on; on success [*a, *b) is the span as
 * written and *from moves past it. Words may be separated by anything but letters and digits
 * (up to 16 bytes: «г.Абакан», «Усть-Абакан», «Вершина  Тёи»). */
static bool find_span(const char *s, size_t len, size_t *from, const struct token *toks,
                      size_t start, size_t n, size_t *a, size_t *b)
{
	for (size_t i = *from; i < len; i++) {
		size_t end, p;
		bool ok = true;

		if (((unsigned char)s[i] & 0xC0) == 0x80 || letter_before(s, len, i))
			continue;
		if (!word_at(s, len, i, toks[start].word, toks[start].word_len, &end))
			continue;
		for (size_t k = 1; ok && k < n; k++) {
			size_t adv;
			p = end;
			while (p < len && p - end <= 16) {
				uint32_t c = cp_at(s, len, p, &adv);
				if (letter_cp(c) || (c >= '0' && c <= '9'))
					break;
				p += adv;
			}
			ok = word_at(s, len, p, toks[start + k].word, toks[start + k].word_len,
			             &end);
		}
		if (ok) {
			*a = i;
			*b = end;
			*from = end;
			return true;
		}
	}
	return false;
}

/* Copies s[0..n) into an evidence slot, cut at a character boundary. */
static void copy_evidence(char *dst, const char *s, size_t n)
{
	if (n >= PLACE_EVIDENCE_LEN) {
		n = PLACE_EVIDENCE_LEN - 1;
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
	}
	memcpy(dst, s, n);
	dst[n] = '\0';
}

/* Evidence of a decision: the winner's counted mentions as written in s. */
static size_t gather_evidence(const char *s, size_t len, const struct token *toks,
                              const struct mention *ms, size_t nm, const struct decision *d,
                              char ev[PLACE_MAX_EVIDENCE][PLACE_EVIDENCE_LEN])
{
	size_t nev = 0, from = 0;
	uint32_t muni = d->t[d->winner].muni;

	for (size_t k = 0; k < nm && nev < PLACE_MAX_EVIDENCE; k++) {
		char buf[PLACE_EVIDENCE_LEN];
		size_t a, b;
		bool dup = false;

		if (!d->counted[k] || !form_claims_muni(ms[k].form, muni))
			continue;
		if (find_span(s, len, &from, toks, ms[k].start, ms[k].len, &a, &b))
			copy_evidence(buf, s + a, b - a);
		else
			copy_evidence(buf, ms[k].form->key, ms[k].form->key_len);
		for (size_t e = 0; e < nev; e++)
			dup = dup || strcmp(ev[e], buf) == 0;
		if (!dup)
			memcpy(ev[nev++], buf, sizeof(buf));
	}
	return nev;
}

/* ---- coordinates ----------------------------------------------------------------------------- */

static double distance_km(double lat1, double lon1, double lat2, double lon2)
{
	const double r = 6371.0088, rad = M_PI / 180.0;
	double dlat = (lat2 - lat1) * rad, dlon = (lon2 - lon1) * rad;
	double h = sin(dlat / 2) * sin(dlat / 2) +
	           cos(lat1 * rad) * cos(lat2 * rad) * sin(dlon / 2) * sin(dlon / 2);
	return 2 * r * asin(sqrt(h < 1 ? h : 1));
}

struct coords_result {
	int muni;       /* -1: none */
	int settlement; /* -1: a centre decided */
	double km;
	int rival; /* another municipality as close, or -1 */
	double rival_km;
};

static void resolve_coords(const struct gazetteer *g, double lat, double lon,
                           struct coords_result *r)
{
	int best = -1;
	double best_km = 0;

	*r = (struct coords_result){.muni = -1, .settlement = -1, .rival = -1};
	for (size_t i = 0; i < g->nsets; i++) {
		double km = distance_km(lat, lon, g->sets[i].lat, g->sets[i].lon);
		if (km <= SETTLEMENT_KM && (best < 0 || km < best_km)) {
			best = (int)i;
			best_km = km;
		}
	}
	if (best >= 0) {
		r->muni = (int)g->sets[best].muni;
		r->settlement = best;
		r->km = best_km;
		for (size_t i = 0; i < g->nsets; i++) {
			double km;
			if ((int)g->sets[i].muni == r->muni)
				continue;
			km = distance_km(lat, lon, g->sets[i].lat, g->sets[i].lon);
			if (km <= SETTLEMENT_KM && km - best_km < CLOSE_CALL_KM &&
			    (r->rival < 0 || km < r->rival_km)) {
				r->rival = (int)g->sets[i].muni;
				r->rival_km = km;
			}
		}
		return;
	}
	for (size_t i = 0; i < g->nmunis; i++) {
		double km;
		if (!g->munis[i].has_centre)
			continue;
		km = distance_km(lat, lon, g->munis[i].lat, g->munis[i].lon);
		if (km <= CENTRE_KM && (best < 0 || km < best_km)) {
			best = (int)i;
			best_km = km;
		}
	}
	if (best >= 0) {
		r->muni = best;
		r->km = best_km;
	}
}

/* ---- resolving ------------------------------------------------------------------------------- */

/* Reads the tokens toks[0..n) of s (may be NULL: evidence is then the normalised form). */
static void read_tokens(const struct gazetteer *g, const char *s, const struct token *toks,
                        size_t n, const int *ctx, size_t nctx, bool first_free,
                        enum place_method method, struct place_reading *r)
{
	struct mention ms[MAX_MENTIONS];
	struct decision d;
	size_t nm;
	const struct tally *w;

	memset(r, 0, sizeof(*r));
	r->muni = -1;
	r->settlement = -1;
	nm = scan(g, toks, n, ms);
	decide(ms, nm, ctx, nctx, first_free, &d);
	if (d.winner < 0)
		return;
	w = &d.t[d.winner];
	r->muni = (int)w->muni;
	r->points = w->points;
	r->route_only = !w->nonroute;
	r->strong = w->strong;
	r->unambiguous = w->unambiguous;
	r->share = d.total > 0 ? (double)w->points / d.total : 1.0;
	r->settlement = w->settlement;
	r->nevidence =
	        gather_evidence(s ? s : "", s ? strlen(s) : 0, toks, ms, nm, &d, r->evidence);
	/* The others, most points first. */
	for (size_t i = 0; i < d.nt; i++) {
		size_t at;
		if ((int)i == d.winner)
			continue;
		at = r->nothers;
		while (at > 0 && r->others[at - 1].score < d.t[i].points)
			at--;
		if (at >= PLACE_MAX_CANDIDATES)
			continue;
		if (r->nothers == PLACE_MAX_CANDIDATES)
			r->nothers--;
		memmove(&r->others[at + 1], &r->others[at],
		        (r->nothers - at) * sizeof(r->others[0]));
		r->others[at] =
		        (struct place_candidate){g->munis[d.t[i].muni].id, method, d.t[i].points};
		r->nothers++;
	}
}

int place_read_community(const struct gazetteer *g, struct text_pipeline *tp, const char *name,
                         struct place_reading *out)
{
	struct token_list toks = {0};

	if (!g || !tp || !out)
		return -1;
	if (name)
		text_tokenize(tp, name, strlen(name), &toks);
	read_tokens(g, name, toks.items, toks.n, NULL, 0, true, PLACE_COMMUNITY, out);
	token_list_clear(&toks);
	return 0;
}

static void add_candidate(struct place_result *out, const char *id, enum place_method method,
                          double score)
{
	if (out->municipality && strcmp(out->municipality, id) == 0)
		return;
	for (size_t i = 0; i < out->ncandidates; i++)
		if (strcmp(out->candidates[i].municipality, id) == 0)
			return;
	if (out->ncandidates < PLACE_MAX_CANDIDATES)
		out->candidates[out->ncandidates++] = (struct place_candidate){id, method, score};
}

static void use_reading(const struct gazetteer *g, const struct place_reading *r,
                        enum place_method method, struct place_result *out)
{
	double base;

	out->municipality = g->munis[r->muni].id;
	out->method = method;
	if (method == PLACE_TEXT)
		base = r->route_only ? 0.6 : r->strong ? 0.95 : 0.8;
	else
		base = r->unambiguous ? 0.6 : 0.45;
	out->confidence = base * r->share;
	out->ambiguous = r->nothers > 0;
	out->nevidence = r->nevidence;
	memcpy(out->evidence, r->evidence, sizeof(r->evidence));
	out->settlement = r->settlement >= 0 ? g->sets[r->settlement].name : NULL;
	for (size_t i = 0; i < r->nothers; i++)
		add_candidate(out, r->others[i].municipality, method, r->others[i].score);
}

static void use_coords(const struct gazetteer *g, const struct coords_result *c,
                       struct place_result *out)
{
	out->municipality = g->munis[c->muni].id;
	out->method = PLACE_COORDINATES;
	out->distance_km = c->km;
	out->nevidence = 1;
	if (c->settlement >= 0) {
		const struct settlement *s = &g->sets[c->settlement];
		out->settlement = s->name;
		out->confidence = (0.85 - 0.35 * c->km / SETTLEMENT_KM) * (s->approx ? 0.9 : 1.0);
		snprintf(out->evidence[0], PLACE_EVIDENCE_LEN, "%s, %.1f km", s->name, c->km);
	} else {
		out->confidence = 0.45 - 0.25 * c->km / CENTRE_KM;
		snprintf(out->evidence[0], PLACE_EVIDENCE_LEN, "centre of %s, %.1f km",
		         g->munis[c->muni].name, c->km);
	}
	if (c->rival >= 0) {
		out->ambiguous = true;
		add_candidate(out, g->munis[c->rival].id, PLACE_COORDINATES, c->rival_km);
	}
}

int place_resolve_tokens(const struct gazetteer *g, const char *text, const struct token *toks,
                         size_t ntoks, const struct place_reading *community_reading,
                         bool has_coords, double lat, double lon, struct place_result *out)
{
	static const struct place_reading nothing = {.muni = -1, .settlement = -1};
	const struct place_reading *community = community_reading ? community_reading : &nothing;
	struct coords_result coords = {.muni = -1, .settlement = -1, .rival = -1};
	struct place_reading body;
	int ctx[2];
	size_t nctx = 0;

	if (!g || (!toks && ntoks) || !out)
		return -1;
	memset(out, 0, sizeof(*out));
	out->method = PLACE_NONE;
	out->distance_km = -1;
	if (community->muni >= (int)g->nmunis)
		return -1;

	if (has_coords && lat >= -90.0 && lat <= 90.0 && lon >= -180.0 && lon <= 180.0)
		resolve_coords(g, lat, lon, &coords);
	if (coords.muni >= 0)
		ctx[nctx++] = coords.muni;
	if (community->muni >= 0)
		ctx[nctx++] = community->muni;
	read_tokens(g, text, toks, ntoks, ctx, nctx, false, PLACE_TEXT, &body);

	if (body.muni >= 0 && !body.route_only)
		use_reading(g, &body, PLACE_TEXT, out);
	else if (coords.muni >= 0)
		use_coords(g, &coords, out);
	else if (community->muni >= 0)
		use_reading(g, community, PLACE_COMMUNITY, out);
	else if (body.muni >= 0)
		use_reading(g, &body, PLACE_TEXT, out);
	else
		return 0;

	/* What the other sources said, when it differs. */
	if (body.muni >= 0 && out->method != PLACE_TEXT) {
		add_candidate(out, g->munis[body.muni].id, PLACE_TEXT, body.points);
		for (size_t i = 0; i < body.nothers; i++)
			add_candidate(out, body.others[i].municipality, PLACE_TEXT,
			              body.others[i].score);
	}
	if (coords.muni >= 0 && out->method != PLACE_COORDINATES)
		add_candidate(out, g->munis[coords.muni].id, PLACE_COORDINATES, coords.km);
	if (community->muni >= 0 && out->method != PLACE_COMMUNITY)
		add_candidate(out, g->munis[community->muni].id, PLACE_COMMUNITY,
		              community->points);
	return 0;
}

int place_resolve(const struct gazetteer *g, struct text_pipeline *tp, const char *text,
                  const char *community_name, bool has_coords, double lat, double lon,
                  struct place_result *out)
{
	struct place_reading community;
	struct token_list toks = {0};
	int rc;

	if (!g || !tp || !out)
		return -1;
	/* The community first: tokenising the text afterwards keeps its tokens valid. */
	place_read_community(g, tp, community_name, &community);
	if (text)
		text_tokenize(tp, text, strlen(text), &toks);
	rc = place_resolve_tokens(g, text, toks.items, toks.n, &community, has_coords, lat, lon,
	                          out);
	token_list_clear(&toks);
	return rc;
}
