/*
 * store: the classifier's table (migrations/): one decision per message id, at its latest
 * revision. A batch is one INSERT over unnest()ed arrays; a replayed message (same id, same or
 * older revision) changes nothing, a newer revision (an edited post) replaces the decision.
 */
#ifndef CLASSIFIER_STORE_H
#define CLASSIFIER_STORE_H

#include <stddef.h>

#include "classified.h"
#include "db.h"

/* Stores the decisions of r[0..n) in one transaction; lines[i] is r[i] as classified.v1
 * (classifier_encode), whose "classification" member becomes the row's record. Returns 0, or
 * -1 with err (nothing stored). */
int store_classifications(struct db *db, const struct classified *r, char *const *lines, size_t n,
                          char *err, size_t errlen);

#endif
