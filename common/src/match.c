// SPDX-License-Identifier: MIT
#include <string.h>

#include <iiofab/match.h>

int iiofab_match_device(const char *key, const void *table, unsigned int n,
			iiofab_match_get_fn get)
{
	static const enum iiofab_match_field order[] = {
		IIOFAB_MATCH_ID, IIOFAB_MATCH_NAME, IIOFAB_MATCH_LABEL,
	};

	if (!key || !*key)
		return -1;
	for (unsigned int f = 0; f < sizeof(order) / sizeof(order[0]); f++) {
		for (unsigned int i = 0; i < n; i++) {
			const char *s = get(table, i, order[f]);

			if (s && *s && !strcmp(s, key))
				return (int)i;
		}
	}
	return -1;
}
