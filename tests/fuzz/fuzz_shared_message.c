/* Fuzz target: message.v1 records as the classifier reads them from messages.raw. */
#include "fuzz_shared_records.h"
#include "message.h"

FUZZ_RECORD_TARGET(struct message, message_decode_bytes, message_encode, message_decode,
                   message_clear)
