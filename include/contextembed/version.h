/**
 * @file version.h
 * @brief Compile-time version of libcontextembed.
 *
 * meson reads these three lines to set the project version and the SONAME
 * (the SONAME is the major version), so keep their form.
 */
#ifndef CONTEXTEMBED_VERSION_H
#define CONTEXTEMBED_VERSION_H

/** Major version: the SONAME; within it nothing is removed or changed in meaning. */
#define CE_VERSION_MAJOR 0
/** Minor version: bumped when functions are added. */
#define CE_VERSION_MINOR 1
/** Patch version: bumped for fixes that change no interface. */
#define CE_VERSION_PATCH 0

/** ABI version: bumped with every release that appends functions. */
#define CE_ABI_VERSION 1

#endif /* CONTEXTEMBED_VERSION_H */
