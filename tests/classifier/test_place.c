/*
 * Tests of the municipality resolver against the Khakassia region pack: inflected and
 * colloquial names, districts, longest match, streets named after towns, ambiguous settlement
 * names, several municipalities in one text, coordinates, the community fallback, evidence as
 * written; the validation errors of broken gazetteers (tests/classifier/data/place_*.json);
 * and the accuracy over the demo stream, which is measured, printed and held above a floor.
 *
 * Run from the repository root (tests/run.sh does); TEST_DATA_DIR overrides
 * tests/classifier/data.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "place.h"
#include "text.h"
#include "xalloc.h"

#define GAZETTEER "deploy/regions/khakassia/municipalities.json"
#define DEMO "deploy/demo/khakassia_posts.ndjson"

/* Measured when this test was written: 339 of 340 labelled demo lines with the title (the one
 * miss is a comment without a place whose community is region-wide), 335 of 340 from the text
 * alone (the four more are RSS items whose place is only in the title). The floors leave a
 * small margin for changes of the pack or the stream. */
#define DEMO_FLOOR 0.97
#define DEMO_TEXT_ONLY_FLOOR 0.96

static struct gazetteer *khakassia;
static struct text_pipeline *tp;
static struct place_result r;

static int setup(void **state)
{
	char err[256];

	(void)state;
	khakassia = gazetteer_load(GAZETTEER, err, sizeof(err));
	if (!khakassia) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	tp = text_new(err, sizeof(err));
	return tp ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	gazetteer_free(khakassia);
	text_free(tp);
	return 0;
}

static char *data_path(const char *name)
{
	const char *dir = getenv("TEST_DATA_DIR");
	if (!dir || !*dir)
		dir = "tests/classifier/data";
	return xasprintf("%s/%s", dir, name);
}

static const struct place_result *resolve_in(const struct gazetteer *g, const char *text,
                                             const char *community)
{
	assert_int_equal(place_resolve(g, tp, text, community, false, 0, 0, &r), 0);
	return &r;
}

static const struct place_result *resolve(const char *text, const char *community)
{
	return resolve_in(khakassia, text, community);
}

static const struct place_result *resolve_at(const char *text, double lat, double lon)
{
	assert_int_equal(place_resolve(khakassia, tp, text, NULL, true, lat, lon, &r), 0);
	return &r;
}

static bool has_candidate(const struct place_result *p, const char *id)
{
	for (size_t i = 0; i < p->ncandidates; i++)
		if (strcmp(p->candidates[i].municipality, id) == 0)
			return true;
	return false;
}

/* The municipality (NULL: none) and method of the last resolution, with the text in the
 * message when they differ. */
static void expect_place(const char *text, const char *community, const char *id,
                         enum place_method method)
{
	const struct place_result *p = resolve(text, community);
	const char *got = p->municipality ? p->municipality : "(none)";
	const char *want = id ? id : "(none)";

	if (strcmp(got, want) != 0 || p->method != method)
		fail_msg("«%s» (community «%s»)\n  got  %s by %s\n  want %s by %s", text,
		         community ? community : "", got, place_method_name(p->method), want,
		         place_method_name(method));
}

static void expect_evidence(const struct place_result *p, size_t i, const char *want)
{
	if (i >= p->nevidence)
		fail_msg("evidence[%zu] missing, want \"%s\" (%zu items)", i, want, p->nevidence);
	assert_string_equal(p->evidence[i], want);
}

/* ---- text ---------------------------------------------------------------------------------- */

static void test_inflections(void **state)
{
	(void)state;
	expect_place("В Абакане третий день не вывозят мусор", NULL, "abakan", PLACE_TEXT);
	expect_evidence(&r, 0, "В Абакане");
	assert_true(r.confidence > 0.9);
	assert_false(r.ambiguous);
	assert_int_equal(r.ncandidates, 0);
	assert_true(r.distance_km < 0);

	expect_place("Приехала из Черногорска, а тут такое", NULL, "chernogorsk", PLACE_TEXT);
	expect_evidence(&r, 0, "Черногорска");
	/* Only a route names it: used, as nothing else says where, with less confidence. */
	assert_true(r.confidence > 0.5 && r.confidence < 0.7);

	expect_place("Саяногорцы, у кого тоже нет интернета?", NULL, "sayanogorsk", PLACE_TEXT);
	expect_evidence(&r, 0, "Саяногорцы");
	expect_place("УСТЬ-АБАКАН, улица Октябрьская без света", NULL, "ust_abakansky", PLACE_TEXT);
	expect_evidence(&r, 0, "УСТЬ-АБАКАН");
	expect_place("В Черёмушках опять нет связи", NULL, "sayanogorsk", PLACE_TEXT);
	expect_evidence(&r, 0, "В Черёмушках");
	assert_string_equal(r.settlement, "Черёмушки");
	expect_place("в черемушках тоже", NULL, "sayanogorsk", PLACE_TEXT);
	expect_place("Абаза, ул. Ленина — мусор", NULL, "abaza", PLACE_TEXT);
	expect_place("г.Абакан, мкр Юго-Западный", NULL, "abakan", PLACE_TEXT);
	expect_evidence(&r, 0, "г.Абакан");
	expect_place("сорчане жалуются на пыль", NULL, "sorsk", PLACE_TEXT);
	expect_place("Живу в Копьёво", NULL, "ordzhonikidzevsky", PLACE_TEXT);
	expect_evidence(&r, 0, "в Копьёво");
	expect_place("Вершина Тёи: лопнул стояк", NULL, "askizsky", PLACE_TEXT);
	expect_evidence(&r, 0, "Вершина Тёи");
	/* A misspelling the pack lists. */
	expect_place("абокан, пробки жуткие", NULL, "abakan", PLACE_TEXT);
	/* Latin look-alikes typed into a Cyrillic word are read as Cyrillic. */
	expect_place("Абaкaн, Щетинкина 20", NULL, "abakan", PLACE_TEXT);
}

static void test_districts(void **state)
{
	(void)state;
	expect_place("В Аскизском районе закрыли ФАП", NULL, "askizsky", PLACE_TEXT);
	expect_evidence(&r, 0, "В Аскизском районе");
	expect_place("Ширинский р-н, с. Шира: нет врача", NULL, "shirinsky", PLACE_TEXT);
	expect_evidence(&r, 0, "Ширинский р-н");
	expect_evidence(&r, 1, "с. Шира");
	expect_place("администрация Боградского района молчит", NULL, "bogradsky", PLACE_TEXT);
	expect_place("Алтайский район, Аршаново: свалка у кладбища", NULL, "altaysky", PLACE_TEXT);
	expect_place("Таштыпский район, Матур", NULL, "tashtypsky", PLACE_TEXT);
	expect_place("Белый Яр, ул. Ленина", NULL, "altaysky", PLACE_TEXT);
	expect_evidence(&r, 0, "Белый Яр");
}

static void test_longest_match(void **state)
{
	(void)state;
	/* «абакан» inside «Усть-Абакан», «Усть-Абаканского района»: no Abakan at all. */
	expect_place("Усть-Абакан, нет света", NULL, "ust_abakansky", PLACE_TEXT);
	assert_int_equal(r.ncandidates, 0);
	assert_false(r.ambiguous);
	expect_place("В Усть-Абаканском районе замело дороги", NULL, "ust_abakansky", PLACE_TEXT);
	expect_evidence(&r, 0, "В Усть-Абаканском районе");
	assert_int_equal(r.ncandidates, 0);
	expect_place("Усть Абакан", NULL, "ust_abakansky", PLACE_TEXT);
	/* «Верх-Аскиз» is Askizsky's settlement; «Усть-Таштып» Askizsky's, not Tashtypsky. */
	expect_place("Усть-Таштып: мусор раз в месяц", NULL, "askizsky", PLACE_TEXT);
	assert_int_equal(r.ncandidates, 0);
}

static void test_streets(void **state)
{
	(void)state;
	/* Streets named after a town or village are no mention of it. */
	expect_place("Абакан, ул. Аскизская 250, прорвало трубу", NULL, "abakan", PLACE_TEXT);
	assert_false(has_candidate(&r, "askizsky"));
	expect_place("на Аскизской из люка валит пар", "Типичный Абакан", "abakan",
	             PLACE_COMMUNITY);
	assert_false(has_candidate(&r, "askizsky"));
	expect_place("Аскизская 12, подъезд 3", NULL, NULL, PLACE_NONE);
	expect_place("по Аскизской не проехать", NULL, NULL, PLACE_NONE);
	expect_place("Черногорская улица вся во льду", NULL, NULL, PLACE_NONE);
	expect_place("Площадка на Бограда 21 переполнена", "Черногорск Онлайн", "chernogorsk",
	             PLACE_COMMUNITY);
	assert_false(has_candidate(&r, "bogradsky"));
	expect_place("г. Черногорск, ул. Генерала Тихонова, 8", NULL, "chernogorsk", PLACE_TEXT);
	expect_place("школа имени Таштыпа", NULL, NULL, PLACE_NONE);
	expect_place("мкр Черногорский, дом 5", NULL, NULL, PLACE_NONE);
	/* A town's name after such a word in the genitive is the town. */
	expect_place("улицы Абакана не чистят", NULL, "abakan", PLACE_TEXT);
	expect_place("в Енисейском микрорайоне Саяногорска", NULL, "sayanogorsk", PLACE_TEXT);
	/* But an adjective of a place before an institution is the place's. */
	expect_place("В аскизской школе кормят одними макаронами", NULL, "askizsky", PLACE_TEXT);
	expect_place("в абаканской поликлинике на Ленина", NULL, "abakan", PLACE_TEXT);
}

static void test_ambiguous_names(void **state)
{
	(void)state;
	/* Names flagged ambiguous need support. */
	expect_place("Бродячие собаки на Калинина возле магазина", NULL, NULL, PLACE_NONE);
	expect_place("В Калинино третий день не вывозят мусор", NULL, NULL, PLACE_NONE);
	expect_place("включили зеленый свет", NULL, NULL, PLACE_NONE);
	expect_place("в расцвете сил", NULL, NULL, PLACE_NONE);
	expect_place("Это гораздо шире, чем кажется", NULL, NULL, PLACE_NONE);
	/* A settlement word before it. */
	expect_place("с. Калинино: не вывозят мусор", NULL, "ust_abakansky", PLACE_TEXT);
	expect_evidence(&r, 0, "с. Калинино");
	expect_place("в поселке Зеленый нет воды", NULL, "ust_abakansky", PLACE_TEXT);
	expect_evidence(&r, 0, "Зеленый");
	assert_true(r.confidence > 0.75 && r.confidence < 0.9);
	expect_place("п. Расцвет, нет света", NULL, "ust_abakansky", PLACE_TEXT);
	/* Another, unambiguous, mention of the same municipality. */
	expect_place("Бея, Бейский район: нет интернета", NULL, "beysky", PLACE_TEXT);
	/* The community or the coordinates naming the same municipality. */
	expect_place("В Шире нет лекарств", "Шира и озёра", "shirinsky", PLACE_TEXT);
	expect_evidence(&r, 0, "В Шире");
	expect_place("В Калинино не вывозят мусор", "Усть-Абакан сегодня", "ust_abakansky",
	             PLACE_TEXT);
	resolve_at("В Калинино не вывозят мусор", 53.7667, 91.4);
	assert_string_equal(r.municipality, "ust_abakansky");
	assert_int_equal(r.method, PLACE_TEXT);
	/* But a community of another municipality supports nothing. */
	expect_place("Бродячие собаки на Калинина", "Черногорск Онлайн", "chernogorsk",
	             PLACE_COMMUNITY);
}

static void test_several_municipalities(void **state)
{
	(void)state;
	/* The place of the problem («в Черногорске») beats origin and destination. */
	expect_place("Ехала из Абакана в Черногорск, в Черногорске на въезде яма", NULL,
	             "chernogorsk", PLACE_TEXT);
	assert_true(r.ambiguous);
	assert_true(has_candidate(&r, "abakan"));
	assert_int_equal(r.candidates[0].method, PLACE_TEXT);
	/* The most points; a tie goes to the one named first. */
	expect_place("Абакан и Черногорск без воды", NULL, "abakan", PLACE_TEXT);
	assert_true(r.ambiguous);
	assert_true(has_candidate(&r, "chernogorsk"));
	assert_true(r.confidence < 0.5);
	expect_place("В Черногорске как в Абакане, и в Черногорске опять", NULL, "chernogorsk",
	             PLACE_TEXT);
	/* Only routes in the text: the community decides, the text's names are candidates. */
	expect_place("Мы к педиатру в Абакан ездим платно", "Саяногорск | Чат", "sayanogorsk",
	             PLACE_COMMUNITY);
	assert_true(has_candidate(&r, "abakan"));
	assert_false(r.ambiguous);
	expect_place("Автобус из Расцвета до Абакана не пришёл", "Усть-Абаканский район | чат",
	             "ust_abakansky", PLACE_COMMUNITY);
	expect_place("Сорск — Абакан: маршрутку сократили", "Сорск — мой город", "sorsk",
	             PLACE_COMMUNITY);
	expect_place("Пробка на выезде в сторону Черногорска", "Абакан 19 | Чат", "abakan",
	             PLACE_COMMUNITY);
	expect_place("Сравнивала с Абаканом — у нас дороже", "Типичный Саяногорск", "sayanogorsk",
	             PLACE_COMMUNITY);
	/* Two names side by side are a route; without other sources the first is taken. */
	expect_place("Дорога Таштып — Абаза в ямах", NULL, "tashtypsky", PLACE_TEXT);
	assert_true(r.ambiguous);
	assert_true(has_candidate(&r, "abaza"));
	expect_place("Дорога Таштып — Абаза в ямах", "Таштып LIVE", "tashtypsky", PLACE_COMMUNITY);
}

static void test_coordinates(void **state)
{
	(void)state;
	resolve_at(NULL, 53.7215, 91.4425);
	assert_string_equal(r.municipality, "abakan");
	assert_int_equal(r.method, PLACE_COORDINATES);
	assert_string_equal(r.settlement, "Абакан");
	expect_evidence(&r, 0, "Абакан, 0.0 km");
	assert_true(r.distance_km < 0.01);
	assert_true(r.confidence > 0.84);
	assert_false(r.ambiguous);

	resolve_at("Яма на дороге", 53.7650, 91.4010);
	assert_string_equal(r.municipality, "ust_abakansky");
	assert_string_equal(r.settlement, "Калинино");

	/* Nearer to Abakan's centre than to Kalinino by less than a kilometre: a close call. */
	resolve_at("", 53.7441, 91.42125);
	assert_non_null(r.municipality);
	assert_true(r.ambiguous);
	assert_int_equal(r.ncandidates, 1);
	assert_int_equal(r.candidates[0].method, PLACE_COORDINATES);

	/* No settlement within 15 km, Kopyevo's district centre within 60 km. */
	resolve_at(NULL, 55.3, 89.8);
	assert_string_equal(r.municipality, "ordzhonikidzevsky");
	assert_null(r.settlement);
	expect_evidence(&r, 0, "centre of Орджоникидзевский район, 34.3 km");
	assert_true(r.confidence < 0.4);

	/* Moscow is in no municipality of the pack; bad coordinates are ignored. */
	resolve_at(NULL, 55.75, 37.62);
	assert_null(r.municipality);
	assert_int_equal(r.method, PLACE_NONE);
	assert_int_equal(r.nevidence, 0);
	resolve_at(NULL, 200, 91.44);
	assert_null(r.municipality);

	/* The text comes first; the coordinates' municipality is then a candidate. */
	resolve_at("В Черногорске на Советской нет отопления", 53.7215, 91.4425);
	assert_string_equal(r.municipality, "chernogorsk");
	assert_int_equal(r.method, PLACE_TEXT);
	assert_true(has_candidate(&r, "abakan"));
	assert_false(r.ambiguous);
}

static void test_community(void **state)
{
	(void)state;
	expect_place("Лифт стоит с пятницы", "ЖКХ Абакана — жалобы и предложения", "abakan",
	             PLACE_COMMUNITY);
	expect_evidence(&r, 0, "Абакана");
	assert_true(r.confidence > 0.55 && r.confidence < 0.65);
	expect_place("Лифт стоит с пятницы", "Черёмушки — наш посёлок", "sayanogorsk",
	             PLACE_COMMUNITY);
	expect_place("Лифт стоит с пятницы", "Копьёво. Орджоникидзевский район",
	             "ordzhonikidzevsky", PLACE_COMMUNITY);
	/* An ambiguous name counts as the community name's first word, with less confidence. */
	expect_place("Колонка замёрзла", "Шира — курорт", "shirinsky", PLACE_COMMUNITY);
	assert_true(r.confidence < 0.5);
	expect_place("Колонка замёрзла", "Наш Зеленый двор", NULL, PLACE_NONE);
	expect_place("Колонка замёрзла", "Хакасия SOS | жалобы", NULL, PLACE_NONE);
	expect_place("Колонка замёрзла", NULL, NULL, PLACE_NONE);
	expect_place(NULL, NULL, NULL, PLACE_NONE);
	/* The text wins, the community is then a candidate. */
	expect_place("В Сарале нет связи", "Типичный Абакан", "ordzhonikidzevsky", PLACE_TEXT);
	assert_true(has_candidate(&r, "abakan"));
	assert_false(r.ambiguous);
}

static void test_stems(void **state)
{
	(void)state;
	/* Inflections the pack does not list match on the Snowball stem. */
	expect_place("Дорогу у Бискамжи не чистят", NULL, "askizsky", PLACE_TEXT);
	expect_evidence(&r, 0, "Бискамжи");
	expect_place("Спасибо всем черногорцу от черногорки", NULL, "chernogorsk", PLACE_TEXT);
	/* Adjectival names do not: «жемчужное ожерелье» is no Zhemchuzhny. */
	expect_place("продам жемчужное ожерелье", NULL, NULL, PLACE_NONE);
}

static void test_long_text(void **state)
{
	size_t n = 0, cap = 16000;
	char *text = xmalloc(cap);

	(void)state;
	/* Over 512 tokens, the place at the end. */
	for (int i = 0; i < 700; i++)
		n += (size_t)snprintf(text + n, cap - n, "слово ");
	snprintf(text + n, cap - n, "в Абазе");
	expect_place(text, NULL, "abaza", PLACE_TEXT);
	expect_evidence(&r, 0, "в Абазе");
	free(text);
}

static void test_arguments(void **state)
{
	struct place_result p;

	(void)state;
	assert_int_equal(place_resolve(NULL, tp, "Абакан", NULL, false, 0, 0, &p), -1);
	assert_int_equal(place_resolve(khakassia, NULL, "Абакан", NULL, false, 0, 0, &p), -1);
	assert_int_equal(place_resolve(khakassia, tp, "Абакан", NULL, false, 0, 0, NULL), -1);
	assert_string_equal(place_method_name(PLACE_NONE), "none");
	assert_string_equal(place_method_name(PLACE_TEXT), "text");
	assert_string_equal(place_method_name(PLACE_COORDINATES), "coordinates");
	assert_string_equal(place_method_name(PLACE_COMMUNITY), "community");
	assert_int_equal(gazetteer_count(khakassia), 13);
	assert_string_equal(gazetteer_id(khakassia, 0), "abakan");
	assert_string_equal(gazetteer_name(khakassia, 12), "Ширинский район");
	gazetteer_free(NULL);
}

static void test_tokens(void **state)
{
	const char *text = "Ехала из Абакана, в Черногорске на въезде яма";
	struct place_reading community;
	struct place_result whole;
	struct token toks[64];
	size_t n;

	(void)state;
	/* One tokenisation shared with other callers: the community is read first. */
	assert_int_equal(place_read_community(khakassia, tp, "Типичный Абакан", &community), 0);
	assert_int_equal(community.muni, 0);
	assert_true(community.unambiguous);
	n = text_tokens(tp, text, strlen(text), toks, 64);
	assert_int_equal(
	        place_resolve_tokens(khakassia, text, toks, n, &community, false, 0, 0, &r), 0);
	assert_int_equal(place_resolve(khakassia, tp, text, "Типичный Абакан", false, 0, 0, &whole),
	                 0);
	assert_string_equal(r.municipality, "chernogorsk");
	assert_string_equal(whole.municipality, r.municipality);
	assert_int_equal(whole.method, r.method);
	assert_int_equal(whole.ncandidates, r.ncandidates);
	assert_true(whole.confidence == r.confidence);
	expect_evidence(&r, 0, "Черногорске");
	expect_evidence(&whole, 0, "Черногорске");

	/* Without the text, the evidence is the normalised form; without a community, none. */
	n = text_tokens(tp, "на въезде в Черногорск", strlen("на въезде в Черногорск"), toks, 64);
	assert_int_equal(place_resolve_tokens(khakassia, NULL, toks, n, NULL, false, 0, 0, &r), 0);
	assert_string_equal(r.municipality, "chernogorsk");
	expect_evidence(&r, 0, "черногорск");
	assert_int_equal(place_resolve_tokens(khakassia, NULL, NULL, 0, NULL, false, 0, 0, &r), 0);
	assert_null(r.municipality);
	assert_int_equal(place_resolve_tokens(khakassia, NULL, NULL, 3, NULL, false, 0, 0, &r), -1);
	assert_int_equal(place_read_community(khakassia, tp, NULL, &community), 0);
	assert_int_equal(community.muni, -1);
}

/* ---- a gazetteer of our own: shared forms, unknown keys ------------------------------------- */

static void test_shared_form(void **state)
{
	char err[256] = "", *path = data_path("place_shared.json");
	struct gazetteer *g = gazetteer_load(path, err, sizeof(err));

	(void)state;
	if (!g)
		fail_msg("%s", err);
	assert_int_equal(gazetteer_count(g), 2);
	/* «озерное» is North's settlement and a form of South's: ambiguous, alone it is none. */
	resolve_in(g, "В Озёрное не ходит автобус", NULL);
	assert_null(r.municipality);
	/* «с. озерное» is North's only. */
	resolve_in(g, "с. Озерное", NULL);
	assert_string_equal(r.municipality, "north");
	assert_false(r.ambiguous);
	/* A settlement word before the shared form: it counts for both, the first in the file
	 * wins, the other is a candidate. */
	resolve_in(g, "поселок Озёрное", NULL);
	assert_string_equal(r.municipality, "north");
	assert_true(r.ambiguous);
	assert_true(has_candidate(&r, "south"));
	/* Another mention of South supports South. */
	resolve_in(g, "Озерное, Южный район", NULL);
	assert_string_equal(r.municipality, "south");
	/* Coordinates: the approximate settlement; the centre beyond 15 km. */
	assert_int_equal(place_resolve(g, tp, NULL, NULL, true, 54.01, 90.01, &r), 0);
	assert_string_equal(r.municipality, "south");
	assert_true(r.confidence < 0.85 * 0.9 + 1e-9);
	assert_int_equal(place_resolve(g, tp, NULL, NULL, true, 54.3, 90.0, &r), 0);
	assert_string_equal(r.municipality, "south");
	assert_null(r.settlement);
	gazetteer_free(g);
	free(path);
}

/* ---- validation ------------------------------------------------------------------------------ */

static void expect_file_error(const char *name, const char *want)
{
	char err[256] = "", *path = data_path(name);
	struct gazetteer *g = gazetteer_load(path, err, sizeof(err));

	assert_null(g);
	if (!strstr(err, want))
		fail_msg("%s\n  got  \"%s\"\n  want it to contain \"%s\"", name, err, want);
	free(path);
}

static void expect_error(const char *json, const char *want)
{
	char err[256] = "";
	struct gazetteer *g = gazetteer_load_mem(json, strlen(json), "pack.json", err, sizeof(err));

	if (g) {
		gazetteer_free(g);
		fail_msg("%s\n  loaded, want error \"%s\"", json, want);
	}
	if (strcmp(err, want) != 0)
		fail_msg("%s\n  got  \"%s\"\n  want \"%s\"", json, err, want);
}

static void test_validation(void **state)
{
	char err[256] = "";

	(void)state;
	expect_file_error("place_bad_lat.json",
	                  "municipalities[3].settlements[2]: lat out of range");
	expect_file_error("place_dup_id.json",
	                  "municipalities[2]: duplicate id \"abakan\" (also municipalities[0])");
	expect_file_error("place_not_json.json", "place_not_json.json: line 1 column");
	expect_file_error("place_missing.json", "place_missing.json: cannot open: ");

	expect_error("[]", "pack.json: the top level must be an object");
	expect_error("{\"municipalities\": []}",
	             "pack.json: municipalities must be a non-empty array");
	expect_error("{\"schema\": \"municipalities.v2\", \"municipalities\": [{}]}",
	             "pack.json: schema must be \"municipalities.v1\"");
	expect_error("{\"municipalities\": [7]}", "municipalities[0]: must be an object");
	expect_error("{\"municipalities\": [{\"name\": \"А\"}]}", "municipalities[0]: missing id");
	expect_error("{\"municipalities\": [{\"id\": \"Bad Id\", \"name\": \"А\"}]}",
	             "municipalities[0]: id \"Bad Id\" must be 1 to 64 of a-z, 0-9, '_' and '-'");
	expect_error("{\"municipalities\": [{\"id\": \"a\"}]}", "municipalities[0]: missing name");
	expect_error("{\"municipalities\": [{\"id\": \"a\", \"name\": 5}]}",
	             "municipalities[0].name: must be a non-empty string");
	expect_error("{\"municipalities\": [{\"id\": \"a\", \"name\": \"А\", \"forms\": \"а\"}]}",
	             "municipalities[0].forms: must be an array of strings");
	expect_error("{\"municipalities\": [{\"id\": \"a\", \"name\": \"А\", "
	             "\"aliases\": [\"б\", 3]}]}",
	             "municipalities[0].aliases[1]: must be a string");
	expect_error("{\"municipalities\": [{\"id\": \"a\", \"name\": \"А\", "
	             "\"forms\": [\"альфа\", \" — !\"]}]}",
	             "municipalities[0].forms[1]: no words after normalisation");
	expect_error("{\"municipalities\": [{\"id\": \"a\", \"name\": \"А\", "
	             "\"forms\": [\"раз два три четыре пять шесть семь восемь девять\"]}]}",
	             "municipalities[0].forms[0]: more than 8 words");
	expect_error("{\"municipalities\": [{\"id\": \"a\", \"name\": \"А\", "
	             "\"center\": {\"lat\": 53}}]}",
	             "municipalities[0].center: missing lon");
	expect_error("{\"municipalities\": [{\"id\": \"a\", \"name\": \"А\", "
	             "\"center\": {\"lat\": 53, \"lon\": 181}}]}",
	             "municipalities[0].center: lon out of range");
	expect_error("{\"municipalities\": [{\"id\": \"a\", \"name\": \"А\", "
	             "\"settlements\": [{\"name\": \"Б\", \"lat\": \"53\", \"lon\": 91}]}]}",
	             "municipalities[0].settlements[0]: lat must be a number");
	expect_error("{\"municipalities\": [{\"id\": \"a\", \"name\": \"А\", "
	             "\"settlements\": [{\"lat\": 53, \"lon\": 91}]}]}",
	             "municipalities[0].settlements[0]: missing name");
	expect_error("{\"municipalities\": [{\"id\": \"a\", \"name\": \"А\", "
	             "\"settlements\": [{\"name\": \"Б\", \"lat\": 53, \"lon\": 91, "
	             "\"ambiguous\": \"yes\"}]}]}",
	             "municipalities[0].settlements[0].ambiguous: must be true or false");
	expect_error("{\"municipalities\": [{\"id\": \"a\", \"name\": \"А\", "
	             "\"settlements\": [{\"name\": \"Б\", \"lat\": 53, \"lon\": 91, "
	             "\"forms\": [\"б\", \"\"]}]}]}",
	             "municipalities[0].settlements[0].forms[1]: no words after normalisation");
	expect_error("{\"municipalities\": [{\"id\": \"a\", \"name\": \"А\", \"name\": \"Б\"}]}",
	             "pack.json: line 1 column 51: duplicate object key near '\"name\"'");

	/* A minimal pack loads, and unknown keys are ignored. */
	{
		const char *ok = "{\"municipalities\": [{\"id\": \"a\", \"name\": \"Альфа\", "
		                 "\"whatever\": [1, 2]}], \"extra\": {}}";
		struct gazetteer *g =
		        gazetteer_load_mem(ok, strlen(ok), "ok.json", err, sizeof(err));
		assert_non_null(g);
		resolve_in(g, "в Альфе? нет, в Альфа", NULL);
		assert_string_equal(r.municipality, "a");
		gazetteer_free(g);
	}
}

/* ---- the demo stream ------------------------------------------------------------------------- */

struct demo_score {
	int total, right, right_text_only, unlabelled_named;
};

static void score_line(json_t *line, struct demo_score *s)
{
	const json_t *community = json_object_get(line, "community");
	const json_t *lat = json_object_get(line, "lat"), *lon = json_object_get(line, "lon");
	const char *text = json_string_value(json_object_get(line, "text"));
	const char *title = json_string_value(json_object_get(line, "title"));
	const char *cname = json_string_value(json_object_get(community, "name"));
	const char *want =
	        json_string_value(json_object_get(json_object_get(line, "expect"), "municipality"));
	bool coords = json_is_number(lat) && json_is_number(lon);
	char *full = title ? xasprintf("%s\n%s", title, text ? text : "") : NULL;
	bool right;

	assert_int_equal(place_resolve(khakassia, tp, full ? full : text, cname, coords,
	                               json_number_value(lat), json_number_value(lon), &r),
	                 0);
	if (!want) {
		s->unlabelled_named += r.municipality != NULL;
		free(full);
		return;
	}
	s->total++;
	right = r.municipality && strcmp(r.municipality, want) == 0;
	s->right += right;
	if (!right)
		printf("  miss %s: want %s, got %s (%s)\n",
		       json_string_value(json_object_get(line, "id")), want,
		       r.municipality ? r.municipality : "none", place_method_name(r.method));
	assert_int_equal(place_resolve(khakassia, tp, text, cname, coords, json_number_value(lat),
	                               json_number_value(lon), &r),
	                 0);
	s->right_text_only += r.municipality && strcmp(r.municipality, want) == 0;
	free(full);
}

static void test_demo_accuracy(void **state)
{
	FILE *f = fopen(DEMO, "r");
	char *line = NULL;
	size_t cap = 0;
	struct demo_score s = {0};
	double acc, acc_text;

	(void)state;
	assert_non_null(f);
	while (getline(&line, &cap, f) > 0) {
		json_error_t je;
		json_t *j = json_loads(line, 0, &je);
		if (!j)
			fail_msg("%s: line %d: %s", DEMO, je.line, je.text);
		score_line(j, &s);
		json_decref(j);
	}
	free(line);
	fclose(f);
	assert_true(s.total >= 300);
	acc = (double)s.right / s.total;
	acc_text = (double)s.right_text_only / s.total;
	printf("demo municipality accuracy: %d/%d = %.4f with the title (floor %.2f), "
	       "%d/%d = %.4f from the text alone (floor %.2f); %d unlabelled lines named one\n",
	       s.right, s.total, acc, DEMO_FLOOR, s.right_text_only, s.total, acc_text,
	       DEMO_TEXT_ONLY_FLOOR, s.unlabelled_named);
	assert_true(acc >= DEMO_FLOOR);
	assert_true(acc_text >= DEMO_TEXT_ONLY_FLOOR);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_inflections),
	        cmocka_unit_test(test_districts),
	        cmocka_unit_test(test_longest_match),
	        cmocka_unit_test(test_streets),
	        cmocka_unit_test(test_ambiguous_names),
	        cmocka_unit_test(test_several_municipalities),
	        cmocka_unit_test(test_coordinates),
	        cmocka_unit_test(test_community),
	        cmocka_unit_test(test_stems),
	        cmocka_unit_test(test_long_text),
	        cmocka_unit_test(test_arguments),
	        cmocka_unit_test(test_tokens),
	        cmocka_unit_test(test_shared_form),
	        cmocka_unit_test(test_validation),
	        cmocka_unit_test(test_demo_accuracy),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
