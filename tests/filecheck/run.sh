#!/usr/bin/env bash
# FileCheck one file: its "; RUN: dropfilter ARGS" line gives the command.
# usage: run.sh BIN_DIR FILECHECK FILE
set -euo pipefail
bin="$1" filecheck="$2" file="$3"
cmd=$(sed -n 's/^; RUN: dropfilter //p' "$file")
eval "\"$bin/dropfilter\" $cmd" | "$filecheck" "$file"
