# Embeds a text file in a C source as one NUL-terminated char array, so that a program carries it
# without reading a data file at run time (the OpenAPI document's schemas, server/api).
# Usage: cmake -DIN=file -DOUT=file.c -DNAME=c_identifier -P AngoraEmbed.cmake
file(READ "${IN}" hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
file(WRITE "${OUT}"
     "/* Generated from ${IN} by cmake/AngoraEmbed.cmake: edit that file instead. */\n"
     "extern const char ${NAME}[];\n"
     "const char ${NAME}[] = {${bytes}0x00};\n")
