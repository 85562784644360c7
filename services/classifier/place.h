/*
 * place: which municipality a message is about, from a region pack's gazetteer
 * (deploy/regions/<region>/municipalities.json), with the evidence and the doubt recorded.
 *
 * The gazetteer lists every municipality with its "forms" (inflections, demonyms, adjectives,
 * common misspellings) and "aliases" (official and colloquial names), and its settlements with
 * their own forms, coordinates and two flags: "ambiguous" (a name that is also an everyday
 * word, a street name or a place elsewhere: «Калинина», «Зелёный», «Шира») and "approx"
 * (coordinates known only roughly). Keys this module does not know are ignored. The names
 * themselves ("name", "short", a settlement's "name") count as forms too.
 *
 * Every form is normalised at load with the classifier's text pipeline (lower case, ё -> е,
 * punctuation and hyphens separate words: «г.Абакан» -> "г абакан", «Усть-Абакан» ->
 * "усть абакан") and put in a hash map keyed by its word sequence; a second map holds their
 * Snowball stem sequences (when a word's stem has at least 5 letters and the name is not an
 * adjective, as «Жемчужный» stems like «жемчужное ожерелье»), so an inflection the pack does
 * not list («Бискамжи», «черногорцу») still matches; a stem shared with an ambiguous form is
 * ambiguous too.
 * Resolving tokenises the text once and looks up, at each token, the sequences of 1..8 words
 * that start there: O(tokens).
 *
 * How a message is resolved, in order:
 *
 *  (a) The text. Matches are taken leftmost-longest, so a form inside a longer matched form
 *      does not count separately («абакан» inside «Усть-Абакан», «алтайский» inside «Алтайский
 *      район»); an exact word match beats a stem match of the same length. A match is dropped
 *      when it names a street or an institution, not a place: after a street word («ул.
 *      Аскизская», «улица Бограда», «проспекте», «имени»); an adjective after a word that
 *      names a street or a district only then («улицы», «площадь», «мкр», «микрорайоне»:
 *      «мкр Черногорский», but «улицы Абакана», «в Енисейском микрорайоне Саяногорска» are
 *      the towns); an adjective before a street word («Абаканская улица»); a feminine
 *      adjective after «на»/«по» or before a house number («на Аскизской», «Аскизская 12»);
 *      any form between «на»/«по» and a house number («на Бограда 21»).
 *      A form is ambiguous when a settlement flagged "ambiguous" lists it (unless the form
 *      begins with a settlement word such as «с.», «п.», «рп»), or when two municipalities
 *      claim it. An ambiguous form counts only with support: a settlement word right before it
 *      («поселок Зеленый», «с. Калинино»), an unambiguous mention of the same municipality in
 *      the text, or the community name or coordinates resolving to that municipality. «с» is
 *      read as «с.» (село) only before an ambiguous form or a settlement's own name; before
 *      other forms it is the preposition («с Абаканом», «с Абакана»: a route).
 *      Each counted mention has a role from the word before it (or the form's own first word,
 *      as in «в абакане»):
 *        place  3 points: «в/во/на» with a locative-looking ending, «у», «около», «возле»,
 *                         «по», «за», «при», «под», ...;
 *        route  1 point:  origin or destination: «из», «до», «от», «к», «через», «с», «в
 *                         сторону», «трасса», «рейс»; «в/на» before an accusative-looking ending
 *                         («в Абакан», «на Черногорск»); and both of two names of different
 *                         municipalities written next to each other («Абакан — Черногорск»);
 *        other  2 points.
 *      The municipality with the most points wins; a tie goes to the one named first. If every
 *      counted mention is a route, the place of the problem is probably not named: the
 *      coordinates, then the community name decide when they resolve, and only otherwise the
 *      route mentions (a message «Автобус до Абакана не пришёл» in a Sayanogorsk community is
 *      Sayanogorsk's). Every other municipality named becomes a candidate, and ambiguous is set.
 *  (b) Coordinates: the nearest settlement within 15 km gives its municipality; else the
 *      nearest municipality centre within 60 km; else none. ambiguous is set (with the other
 *      municipality as a candidate) when another municipality's settlement is within 15 km and
 *      less than 1 km farther than the nearest.
 *  (c) The community name, through the same matcher as the text; there an ambiguous form also
 *      counts when it is the name's first word («Шира — курорт»), as communities are named
 *      after their place.
 * When a later source names another municipality than the one chosen, it is listed among the
 * candidates too (with its method), without setting ambiguous.
 *
 * Confidence, from 0 to 1, is a documented heuristic, not a probability:
 *  text:        0.95 with an unambiguous place/other mention of the winner, 0.8 with only
 *               supported ambiguous ones, 0.6 when only route mentions decided; multiplied by
 *               the winner's share of all points when several municipalities are named;
 *  coordinates: settlement: 0.85 at 0 km falling linearly to 0.5 at 15 km, times 0.9 when its
 *               coordinates are "approx"; centre: 0.45 at 0 km falling to 0.2 at 60 km;
 *  community:   0.6 with an unambiguous form, 0.45 with only an ambiguous first word; times the
 *               share of points as for the text.
 *
 * A gazetteer is immutable after loading and may be shared by threads; each thread passes its
 * own text pipeline.
 */
#ifndef CLASSIFIER_PLACE_H
#define CLASSIFIER_PLACE_H

#include <stdbool.h>
#include <stddef.h>

struct gazetteer;
struct text_pipeline;
struct token;

/* Longest form, in words after normalisation; a longer one is a load error. */
#define PLACE_MAX_FORM_WORDS 8
#define PLACE_MAX_CANDIDATES 8
#define PLACE_MAX_EVIDENCE 4
#define PLACE_EVIDENCE_LEN 128

/*
 * Loads and validates the gazetteer at path. Returns NULL with err filled when the file cannot
 * be read or parsed, or when an entry is wrong; the message names the entry and what is wrong
 * with it ("municipalities[3].settlements[2]: lat out of range", "municipalities[5]: duplicate
 * id \"abakan\" (also municipalities[0])", "municipalities[1].forms[4]: no words after
 * normalisation"). A form claimed by two municipalities is accepted and marked ambiguous.
 * Caller frees with gazetteer_free. err may be NULL.
 */
struct gazetteer *gazetteer_load(const char *path, char *err, size_t errlen);

/* The same from a JSON document in memory, data[0..len); name labels it in error messages. */
struct gazetteer *gazetteer_load_mem(const char *data, size_t len, const char *name, char *err,
                                     size_t errlen);

/* Frees g; NULL is accepted. */
void gazetteer_free(struct gazetteer *g);

/* Number of municipalities, and the id and display name ("name") of the i-th, in file order;
 * the strings are borrowed from g. i must be below the count. */
size_t gazetteer_count(const struct gazetteer *g);
const char *gazetteer_id(const struct gazetteer *g, size_t i);
const char *gazetteer_name(const struct gazetteer *g, size_t i);

enum place_method {
	PLACE_NONE,
	PLACE_TEXT,
	PLACE_COORDINATES,
	PLACE_COMMUNITY,
};

/* "none", "text", "coordinates", "community". */
const char *place_method_name(enum place_method m);

struct place_candidate {
	const char *municipality; /* id, borrowed from the gazetteer */
	enum place_method method; /* where it came from */
	double score;             /* text, community: its points; coordinates: distance in km */
};

struct place_result {
	const char *municipality; /* id, borrowed from the gazetteer; NULL when none */
	enum place_method method; /* PLACE_NONE exactly when municipality is NULL */
	double confidence;        /* 0..1, see above; 0 when none */
	bool ambiguous;           /* the deciding source named more than one municipality */
	/* Text and community: the winner's matched forms as written there, in order, each once
	 * (the first PLACE_MAX_EVIDENCE; one longer than PLACE_EVIDENCE_LEN - 1 bytes is cut at a
	 * character boundary); coordinates: one item, "Калинино, 1.2 km" or "centre of Алтайский
	 * район, 23.0 km". None when no municipality. */
	size_t nevidence;
	char evidence[PLACE_MAX_EVIDENCE][PLACE_EVIDENCE_LEN];
	const char *settlement; /* matched or nearest settlement's name (borrowed), or NULL */
	double distance_km;     /* coordinates: the distance; otherwise -1 */
	size_t ncandidates;     /* the other municipalities considered, best first */
	struct place_candidate candidates[PLACE_MAX_CANDIDATES];
};

/*
 * What one text says on its own: the best municipality it names, with its points and the
 * evidence, and the others it names. place_read_community fills it for a community name so
 * that a caller can read a community once (per message before tokenising the text, or once
 * per community and keep it) and pass it to place_resolve_tokens. Valid with the gazetteer
 * that filled it; strings are borrowed from that gazetteer. Callers need not read it.
 */
struct place_reading {
	int muni;         /* index in the gazetteer, -1 when none */
	int points;       /* the best one's points (place 3, other 2, route 1 per mention) */
	double share;     /* its points / all points */
	bool route_only;  /* named only as origin or destination */
	bool strong;      /* named unambiguously, not as a route */
	bool unambiguous; /* named unambiguously at least once */
	int settlement;   /* index of its matched settlement, or -1 */
	size_t nevidence;
	char evidence[PLACE_MAX_EVIDENCE][PLACE_EVIDENCE_LEN];
	size_t nothers;
	struct place_candidate others[PLACE_MAX_CANDIDATES];
};

/* Reads a community name (may be NULL: it names none) with the caller's text pipeline, whose
 * earlier tokens are invalidated. Returns 0, or -1 when g, tp or out is NULL. */
int place_read_community(const struct gazetteer *g, struct text_pipeline *tp, const char *name,
                         struct place_reading *out);

/*
 * Resolves the municipality of a message: its text (may be NULL), the name of the community it
 * was posted in (may be NULL), and its coordinates when has_coords (ignored when out of range).
 * tp is the caller's text pipeline; its earlier tokens are invalidated. Fills *out; returns 0,
 * or -1 when g, tp or out is NULL. Allocates the text's tokens: a caller that classifies many
 * texts tokenises them itself and calls place_resolve_tokens.
 */
int place_resolve(const struct gazetteer *g, struct text_pipeline *tp, const char *text,
                  const char *community_name, bool has_coords, double lat, double lon,
                  struct place_result *out);

/*
 * The same for a caller that tokenised the text already (with text_tokens, so the featurizer,
 * the urgency rule and this share one pass): toks[0..ntoks) are text's tokens; text (may be
 * NULL) only serves to quote the evidence as written. community is the community name's
 * reading from place_read_community with the same gazetteer, or NULL. Allocates nothing.
 * Returns 0, or -1 when g or out is NULL, or toks is NULL with ntoks > 0.
 */
int place_resolve_tokens(const struct gazetteer *g, const char *text, const struct token *toks,
                         size_t ntoks, const struct place_reading *community, bool has_coords,
                         double lat, double lon, struct place_result *out);

#endif
