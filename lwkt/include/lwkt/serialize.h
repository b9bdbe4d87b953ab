/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * serialize.h - the serializer: a lock whose holder may block, as
 * DragonFly's sys/sys/serialize.h (lwkt_serialize_enter/exit/try).  A
 * thread waiting for it runs its cpu's IPIs and yields, so a holder on
 * the same cpu, or one that waits for our IPIs, always gets to run.
 * Only LWKT threads (not IPI functions' callers outside LWKT) take it.
 * A serializer port (msgport.h, lwkt_initport_serialize) is a port whose
 * callers hold its serializer.
 */
#ifndef LWKT_SERIALIZE_H
#define LWKT_SERIALIZE_H

#include <stdbool.h>
#include <stdint.h>

#include "lwkt/arch.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ls_lock: 0 free, 1 held; exchange(acquire) to take, store(release) to
 * drop (pairs with the next taker).  ls_owner: the holder's identity, for
 * misuse checks only (relaxed). */
struct lwkt_serialize {
	LWKT_ATOMIC(uint32_t) ls_lock;
	LWKT_ATOMIC(void *) ls_owner;
};

void lwkt_serialize_init(struct lwkt_serialize *s);
/* Takes s, waiting (running IPIs, yielding) as long as needed. */
void lwkt_serialize_enter(struct lwkt_serialize *s);
/* Takes s if free; false otherwise.  Never waits. */
bool lwkt_serialize_try(struct lwkt_serialize *s);
/* Drops s; aborts unless the caller holds it. */
void lwkt_serialize_exit(struct lwkt_serialize *s);

#ifdef __cplusplus
}
#endif
#endif /* LWKT_SERIALIZE_H */
