/**
 * @file version.h
 * @brief Compile-time version of libcontextembed.
 *
 * meson reads these three lines to set the project version and the SONAME
 * (the SONAME is the major version), so keep their form.
 */
#ifndef CONTEXTEMBED_VERSION_H
#define CONTEXTEMBED_VERSION_H

#define CE_VERSION_MAJOR 0
#define CE_VERSION_MINOR 1
#define CE_VERSION_PATCH 0

/** ABI version: bumped with every release that appends functions. */
#define CE_ABI_VERSION 1

#endif /* CONTEXTEMBED_VERSION_H */
