// SPDX-License-Identifier: MIT
/*
 * Writes raw DAC input to stdout: 16-bit little-endian samples, interleaved
 * scans of CHANNELS channels, in the layout iiofab play and iio_writedev
 * read.
 *   t_gen_wave ramp CHANNELS SCANS [CORRUPT_SCAN]
 *     the simulator's ramp: channel c of scan n holds (n + 4096 c) mod 2^16;
 *     with CORRUPT_SCAN, channel 0 of that scan is off by one, which the
 *     simulator must count as exactly one pattern error
 *   t_gen_wave down CHANNELS SCANS
 *     a falling ramp, which the simulator counts as wrong in every scan
 *   t_gen_wave counter CHANNELS SCANS [CORRUPT_SCAN]
 *     the simulator's counter (its DAC's pattern set to counter): channel c
 *     of scan n holds bits [16 (c mod 4), 16 (c mod 4) + 16) of n, from
 *     n = 0, as the DAC counts the scans it consumed since enable; with
 *     CORRUPT_SCAN as for ramp
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int write_all(const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t n = write(STDOUT_FILENO, p, len);

		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

enum wave { WAVE_RAMP, WAVE_DOWN, WAVE_COUNTER };

static uint16_t wave_value(enum wave wave, unsigned long long n, unsigned long c)
{
	switch (wave) {
	case WAVE_DOWN:
		return (uint16_t)(-n + 4096 * c);
	case WAVE_COUNTER:
		return (uint16_t)(n >> (16 * (c % 4)));
	case WAVE_RAMP:
		break;
	}
	return (uint16_t)(n + 4096 * c);
}

int main(int argc, char **argv)
{
	enum { CHUNK_SCANS = 8192 };
	static const char *const names[] = {
		[WAVE_RAMP] = "ramp", [WAVE_DOWN] = "down", [WAVE_COUNTER] = "counter",
	};
	unsigned long channels;
	unsigned long long scans, corrupt = ~0ull;
	enum wave wave;
	uint8_t *buf;
	size_t i;

	for (i = 0; argc > 1 && i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(argv[1], names[i]))
			break;
	if (argc < 4 || argc > 5 || i == sizeof(names) / sizeof(names[0])) {
		fprintf(stderr, "usage: t_gen_wave ramp|down|counter CHANNELS SCANS [CORRUPT_SCAN]\n");
		return 2;
	}
	wave = (enum wave)i;
	channels = strtoul(argv[2], NULL, 0);
	scans = strtoull(argv[3], NULL, 0);
	if (argc == 5)
		corrupt = strtoull(argv[4], NULL, 0);
	if (channels < 1 || channels > 64) {
		fprintf(stderr, "t_gen_wave: CHANNELS must be 1..64\n");
		return 2;
	}
	buf = malloc((size_t)CHUNK_SCANS * channels * 2);
	if (!buf)
		return 1;
	for (unsigned long long n0 = 0; n0 < scans; n0 += CHUNK_SCANS) {
		unsigned long long todo = scans - n0 < CHUNK_SCANS ? scans - n0 : CHUNK_SCANS;
		uint8_t *p = buf;

		for (unsigned long long n = n0; n < n0 + todo; n++) {
			for (unsigned long c = 0; c < channels; c++) {
				uint16_t v = wave_value(wave, n, c);

				if (n == corrupt && c == 0)
					v++;
				*p++ = (uint8_t)v;
				*p++ = (uint8_t)(v >> 8);
			}
		}
		if (write_all(buf, (size_t)(p - buf))) {
			perror("t_gen_wave: write");
			free(buf);
			return 1;
		}
	}
	free(buf);
	return 0;
}
