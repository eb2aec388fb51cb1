# Draws throughput.png from throughput.csv (bench/paper/throughput.sh
# passes csv and png).  Tasks per second against workers, one line per
# topology and store ("none": by value, dashed).
set terminal pngcairo size 1150,600 font ",11"
set output png
set datafile separator ","
series = system(sprintf("awk -F, '!/^#/ && NR > 2 {print $1 \":\" $2}' %s | sort -u", csv))
# median, min and max over the repeats of each workers count (median.awk)
sel(s) = sprintf("< awk -F, -v series=%s -v x=4 -v y=9 -f bench/paper/median.awk %s", s, csv)
dashes(s) = strstrt(s, ":none") ? 2 : 1
color(s) = strstrt(s, "redis") ? (strstrt(s, "scheduler") ? 7 : 4) : strstrt(s, "scheduler") ? 3 : 2
point(s) = strstrt(s, "redis") ? 6 : strstrt(s, "file") ? 8 : 7
label(s) = (strstrt(s, ":none") ? "by value, " : "by proxy (".s[strstrt(s, ":") + 1:]."), ") . \
           (strstrt(s, "scheduler") ? "MPI + scheduler" : "MPI direct")
set title "Throughput: tasks consuming and producing 1 MB (more ranks than the 2 cores)"
set xlabel "workers (MPI ranks running tasks)"
set ylabel "tasks per second (median of the repeats; bars: min to max)"
set key outside right top
set xtics 1
set grid
set yrange [0:*]
plot for [s in series] sel(s) u 1:2:3:4 w yerrorlines lw 2 dt dashes(s) lc color(s) pt point(s) t label(s)
