/*
 * urgency: the rule that marks a message "high" (danger to life or health, no heating, water
 * or power, an accident or an emergency) or "normal", with the terms that decided it.
 *
 * The rules are data, the "urgency" object of the taxonomy (services/classifier/data/
 * taxonomy.json); other keys are ignored:
 *   "high_terms":  phrases, any one of which makes a text high ("пахнет газом", "пожар");
 *   "high_if_all": optional groups of phrases that make it high when all occur anywhere in the
 *                  text, in any order (["нет", "воды", "дом"]).
 *
 * Matching works on the text pipeline's normalised words (lower case, ё -> е): a phrase's
 * words must follow each other in the text; a word matches when its Snowball stem equals the
 * term word's, or when both stems have at least 5 letters and one begins with the other, so
 * inflections and derived words match: «затопило», «затопили», «затопление» (stems затоп,
 * затоп, затоплен); «пожарные» for «пожар»; «провалилась под лёд» for «провалился под лед».
 *
 * Negation, where it is cheap to see. A phrase (or a group's phrase) does not count when:
 *  - «не» or «ни» stands right before it, or two words before with one of «очень», «сильно»,
 *    «особо», «совсем», «уже», «больше», «было» between: «газом не пахнет», «свет не горит»,
 *    «не очень пахнет газом»;
 *  - «нет» or «без» stands right before it, unless the rule itself speaks of absence (has a
 *    word не/нет/ни/без, as «нет воды» or ["нет", "света"]): «нет запаха газа»;
 *  - «нет», or «не» followed by «было», «обнаружено», «обнаружили», «чувствуется»,
 *    «ощущается», «наблюдается», comes right after it: «пожара нет», «запаха газа не было».
 * Not handled: negation farther away, questions («есть ли запах газа?»), hypotheticals
 * («если будет пожар»), and problems reported as solved («свет дали»).
 *
 * Rules are immutable after loading and may be shared by threads; each thread passes its own
 * text pipeline.
 */
#ifndef CLASSIFIER_URGENCY_H
#define CLASSIFIER_URGENCY_H

#include <stdbool.h>
#include <stddef.h>

struct urgency_rules;
struct text_pipeline;
struct token;

#define URGENCY_MAX_PHRASE_WORDS 8
#define URGENCY_MAX_TERMS 8

enum urgency_level {
	URGENCY_NORMAL,
	URGENCY_HIGH,
};

/* "normal", "high". */
const char *urgency_level_name(enum urgency_level l);

/*
 * Loads the "urgency" object of the taxonomy at taxonomy_path. Returns NULL with err filled
 * when the file cannot be read or parsed or a rule is wrong; the message names it
 * ("urgency.high_terms[3]: no words after normalisation", "urgency.high_if_all[1]: must be a
 * non-empty array of strings"). Caller frees with urgency_free. err may be NULL.
 */
struct urgency_rules *urgency_load(const char *taxonomy_path, char *err, size_t errlen);

/* The same from a taxonomy document in memory, data[0..len); name labels it in errors. */
struct urgency_rules *urgency_load_mem(const char *data, size_t len, const char *name, char *err,
                                       size_t errlen);

/* Frees r; NULL is accepted. */
void urgency_free(struct urgency_rules *r);

/* Number of phrases in high_terms and of groups in high_if_all. */
size_t urgency_term_count(const struct urgency_rules *r);
size_t urgency_group_count(const struct urgency_rules *r);

struct urgency_result {
	enum urgency_level level;
	/* The rules that matched, in rule order, as written in the taxonomy; a group is its
	 * phrases joined by " + " ("нет + отопления"). Borrowed from the rules. The first
	 * URGENCY_MAX_TERMS. */
	size_t nterms;
	const char *terms[URGENCY_MAX_TERMS];
	/* Rules whose words were there but negated ("пахнет газом" in «газом не пахнет»), for the
	 * explanation. */
	size_t nnegated;
	const char *negated[URGENCY_MAX_TERMS];
};

/*
 * Assesses text (may be NULL: normal). tp is the caller's text pipeline; its earlier tokens
 * are invalidated. Fills *out; returns 0, or -1 when r, tp or out is NULL. Allocates the
 * text's tokens: a caller that assesses many texts tokenises them and calls
 * urgency_assess_tokens.
 */
int urgency_assess(const struct urgency_rules *r, struct text_pipeline *tp, const char *text,
                   struct urgency_result *out);

/* The same over tokens the caller made with text_tokens (so the featurizer, the place
 * resolver and this share one pass): toks[0..n). Returns 0, or -1 when r or out is NULL or
 * toks is NULL with n > 0. Allocates only for rules of more than 256 phrases. */
int urgency_assess_tokens(const struct urgency_rules *r, const struct token *toks, size_t n,
                          struct urgency_result *out);

#endif
