/* SPDX-License-Identifier: MIT */
/*
 * How a user's device name is matched, the same on the board and on the
 * host: the id ("iio:device0") first, then the name, then the label, so a
 * name or label that collides with another device's id never hides it.
 */
#ifndef IIOFAB_MATCH_H
#define IIOFAB_MATCH_H

enum iiofab_match_field {
	IIOFAB_MATCH_ID,
	IIOFAB_MATCH_NAME,
	IIOFAB_MATCH_LABEL,
};

/* Field f of entry i of table; NULL or "" never matches. */
typedef const char *(*iiofab_match_get_fn)(const void *table, unsigned int i,
					   enum iiofab_match_field f);

/* Index of the entry key names, or -1. */
int iiofab_match_device(const char *key, const void *table, unsigned int n,
			iiofab_match_get_fn get);

#endif /* IIOFAB_MATCH_H */
