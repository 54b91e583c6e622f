# cmake -DIN=file -DOUT=file.cpp -DSYM=name -P embed.cmake
# Writes `extern const unsigned char SYM[]; extern const unsigned long SYM_size;`.
file(READ ${IN} hex HEX)
string(LENGTH "${hex}" n)
math(EXPR bytes "${n} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," body "${hex}")
file(WRITE ${OUT} "// Generated from ${IN}\nextern const unsigned char ${SYM}[] = {${body}};\nextern const unsigned long ${SYM}_size = ${bytes};\n")
