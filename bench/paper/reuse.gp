# Draws reuse.png from reuse.csv (bench/paper/reuse.sh passes csv and png).
# Left: the fastest of the repetitions of the whole product (min_s: on a
# machine shared with other jobs the medians swing by up to 2x) against
# BLOCKS, the number of tasks that read each panel.  Right: by proxy's
# gain on those times, 1 - proxy/value.
set terminal pngcairo size 1400,560 font ",11"
set output png
set datafile separator ","
set multiplot layout 1,2
set logscale x 2
set xlabel "tasks reading each panel (BLOCKS)"
set key top left
set grid
series = system(sprintf("awk -F, '!/^#/ && NR > 2 {print $1 \":\" $2}' %s | sort -u", csv))
sel(s) = sprintf("< awk -F, '!/^#/ && $1 \":\" $2 == \"%s\"' %s", s, csv)
dashes(s) = strstrt(s, ":none") ? 2 : 1
color(s) = strstrt(s, "redis") ? (strstrt(s, "scheduler") ? 7 : 4) : strstrt(s, "scheduler") ? 3 : 2
point(s) = strstrt(s, "redis") ? 6 : strstrt(s, "file") ? 8 : 7
label(s) = (strstrt(s, ":none") ? "by value, " : "by proxy (".s[strstrt(s, ":") + 1:]."), ") . \
           (strstrt(s, "scheduler") ? "MPI + scheduler" : "MPI direct")
set title "Blocked matrix product C = A B, 2 workers: fastest of the repetitions"
set ylabel "seconds"
set yrange [0:*]
plot for [s in series] sel(s) u 6:10 w lp lw 2 dt dashes(s) lc color(s) pt point(s) t label(s)

# by proxy against by value of the same topology, workers and BLOCKS
proxied = system(sprintf("awk -F, '!/^#/ && NR > 2 && $3 == \"proxy\" {print $1 \":\" $2}' %s | sort -u", csv))
gain(s) = sprintf("< awk -F, '!/^#/ && NR > 2 {k = $1 \",\" $4 \",\" $6; if ($3 == \"value\") v[k] = $10; else if ($1 \":\" $2 == \"%s\") p[k] = $10; b[k] = $6} END {for (k in p) if (k in v) print b[k] \",\" 100 * (1 - p[k] / v[k])}' %s | sort -t, -n -k1", s, csv)
set title "Gain of by proxy: 1 - proxy/value (positive: by proxy is faster)"
set ylabel "%"
set yrange [-100:100]
set arrow from graph 0, first 40 to graph 1, first 40 nohead dt 3 lc rgb "gray"
set arrow from graph 0, first 0 to graph 1, first 0 nohead lc rgb "black"
plot for [s in proxied] gain(s) u 1:2 w lp lw 2 lc color(s) pt point(s) t label(s)
unset multiplot
