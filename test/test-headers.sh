#!/bin/sh
# Each public header must compile alone as C99 (-pedantic -Werror) and as C++.
set -eu
inc="$1"
cc="${CC:-cc}"
cxx="${CXX:-c++}"
status=0
for h in "$inc"/contextembed/*.h; do
    name="contextembed/$(basename "$h")"
    printf '#include <%s>\nint main(void) { return 0; }\n' "$name" |
        "$cc" -std=c99 -pedantic -Wall -Wextra -Werror -fsyntax-only -I"$inc" -x c - ||
        { echo "FAIL (C99): $name"; status=1; }
    if command -v "$cxx" >/dev/null 2>&1; then
        printf '#include <%s>\nint main() { return 0; }\n' "$name" |
            "$cxx" -std=c++11 -pedantic -Wall -Wextra -Werror -fsyntax-only -I"$inc" -x c++ - ||
            { echo "FAIL (C++): $name"; status=1; }
    fi
done
exit $status
