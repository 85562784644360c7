/*
 * hash: 64-bit FNV-1a, the one byte hash of the classifier: feature buckets (featurizer.c, so
 * its values are part of every saved model and must never change), the model file's checksum,
 * and the look-up tables of the taxonomy, the gazetteer and the urgency rules.
 */
#ifndef CLASSIFIER_HASH_H
#define CLASSIFIER_HASH_H

#include <stddef.h>
#include <stdint.h>

#define FNV1A64_OFFSET 0xcbf29ce484222325ULL
#define FNV1A64_PRIME 0x100000001b3ULL

/* h (FNV1A64_OFFSET to start, or an earlier result to go on) extended by p[0..n). */
static inline uint64_t fnv1a64(uint64_t h, const void *p, size_t n)
{
	const unsigned char *u = p;

	for (size_t i = 0; i < n; i++) {
		h ^= u[i];
		h *= FNV1A64_PRIME;
	}
	return h;
}

#endif
