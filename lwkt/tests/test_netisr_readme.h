/* A key counter served by the protocol threads: one table per cpu,
 * touched only by that cpu's service thread, so it needs no lock. */
#include <stdint.h>
#include <stdio.h>

#include <lwkt/cpu.h>
#include <lwkt/netisr.h>
#include <lwkt/thread.h>

#define NKEYS 1024

struct count_msg {
	struct netmsg_base base;	/* first */
	uint32_t key;
	uint64_t count;			/* the answer */
};

static uint64_t table[LWKT_MAXCPU][NKEYS];

/* Runs on the service thread of the key's cpu. */
static void
count_handler(struct netmsg_base *nm)
{
	struct count_msg *m = (struct count_msg *)nm;
	m->count = ++table[lwkt_mycpuid()][m->key % NKEYS];
	lwkt_replymsg(&nm->lmsg, 0);
}

static void
client(void *arg)
{
	(void)arg;
	for (int round = 0; round < 2; round++) {
		for (uint32_t key = 0; key < 8; key++) {
			struct count_msg m;
			netmsg_init(&m.base, NULL, NETMSGF_MPSAFE,
				    count_handler);
			m.key = key;
			netisr_domsg(&m.base, netisr_hashcpu(key));
			printf("key %u on cpu %d: seen %llu time(s)\n", key,
			       netisr_hashcpu(key),
			       (unsigned long long)m.count);
		}
	}
}

int
main(void)
{
	lwkt_thread_t td;
	if (lwkt_init(NULL) != 0)
		return 1;
	if (netisr_start(NULL) != 0 ||
	    lwkt_create(client, NULL, 0, 0, &td, "client") != 0)
		return 1;
	lwkt_join(td);
	netisr_stop();
	lwkt_shutdown();
	return 0;
}
