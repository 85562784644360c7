/*
 * grouping: whether two citizens' texts report the same problem — the text half of the
 * decision that joins a report to an open incident (the other half, same topic, municipality
 * and time window, is the intake's query). Texts are reduced to sets of Russian stems (Snowball
 * via libstemmer; words shorter than 3 letters dropped, numbers kept, so "Щетинкина 18" counts)
 * and compared with the Dice coefficient, 2|A∩B| / (|A| + |B|): 1 for the same words, 0 for
 * none shared. Addresses are compared after normalisation (case, punctuation and the usual
 * abbreviations' dots do not matter).
 *
 * A struct grouping holds a stemmer and is not thread-safe: one per thread.
 */
#ifndef ASSIGNER_GROUPING_H
#define ASSIGNER_GROUPING_H

#include <stddef.h>

struct grouping;

/* NULL with err when libstemmer has no Russian stemmer. Caller frees with grouping_free. */
struct grouping *grouping_new(char *err, size_t errlen);
void grouping_free(struct grouping *g);

/* Dice coefficient of the two texts' stem sets, 0..1 (0 when either has no words). */
double grouping_similarity(struct grouping *g, const char *a, const char *b);

/* A text's stem set, made once for comparing it with many others (the intake compares each
 * new report with up to 20 texts of each of 20 candidate incidents). Caller frees. */
struct grouping_text;
struct grouping_text *grouping_text_new(struct grouping *g, const char *text);
void grouping_text_free(struct grouping_text *t);
/* grouping_similarity of the two texts. */
double grouping_dice(const struct grouping_text *a, const struct grouping_text *b);

/* The address reduced to lower-case words separated by one space ("абакан ул щетинкина 18"),
 * or NULL for NULL or an address without words. Caller frees. */
char *grouping_address_key(const char *address);

#endif
