/*
 * What the three record decoders' fuzz targets share: decode untrusted bytes, and when they
 * decode, encode the record again and require that the encoding decodes too (a record the
 * service accepted must survive its own re-publishing), then free everything. A failed decode
 * must name a field and leave the record cleared (the decoders' contract).
 */
#ifndef FUZZ_SHARED_RECORDS_H
#define FUZZ_SHARED_RECORDS_H

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "fields.h"

/* Defines LLVMFuzzerTestOneInput for a record type T with its decode_bytes, encode, decode
 * and clear functions. */
#define FUZZ_RECORD_TARGET(T, decode_bytes, encode, decode, clear)                                 \
	int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);                        \
	int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)                         \
	{                                                                                          \
		static const T zero;                                                               \
		T r = zero, again = zero;                                                          \
		struct field_error e;                                                              \
                                                                                                   \
		memset(&e, 0, sizeof(e));                                                          \
		if (decode_bytes(data, size, &r, &e) != 0) {                                       \
			if (memcmp(&r, &zero, sizeof(r)) != 0 || !e.message[0])                    \
				abort();                                                           \
			return 0;                                                                  \
		}                                                                                  \
		json_t *j = encode(&r);                                                            \
		if (!j || decode(j, &again, &e) != 0)                                              \
			abort();                                                                   \
		json_decref(j);                                                                    \
		clear(&again);                                                                     \
		clear(&r);                                                                         \
		return 0;                                                                          \
	}

#endif
