# Draws docs/paper/round_trip.png from docs/paper/round_trip.csv (run from
# the project root by bench/paper/round_trip.sh).  Left: median round-trip
# time against payload size.  Right: by proxy's improvement over by value,
# 1 - proxy/value, per size (the paper's right panel).
set terminal pngcairo size 1400,560 font ",11"
set output "docs/paper/round_trip.png"
set datafile separator ","
set multiplot layout 1,2
set logscale x 10
set format x "10^{%L}"
set xlabel "argument and result size (bytes)"
set key top left
set grid

set logscale y 10
set ylabel "median round-trip time (µs)"
set title "Task round trip: no-op task, N-byte argument and result"
sel(b, s, m) = sprintf("< awk -F, '$1==\"%s\" && $2==\"%s\" && $3==\"%s\"' docs/paper/round_trip.csv", b, s, m)
plot sel("threads","none","value") u 4:6 w lp lw 2 dt 2 lc 1 t "threads, by value", \
     sel("threads","shm","proxy") u 4:6 w lp lw 2 lc 1 t "threads, by proxy (shm)", \
     sel("direct","none","value") u 4:6 w lp lw 2 dt 2 lc 2 t "MPI direct, by value", \
     sel("direct","shm","proxy") u 4:6 w lp lw 2 lc 2 t "MPI direct, by proxy (shm)", \
     sel("scheduler","none","value") u 4:6 w lp lw 2 dt 2 lc 3 t "MPI + scheduler, by value", \
     sel("scheduler","shm","proxy") u 4:6 w lp lw 2 lc 3 t "MPI + scheduler, by proxy (shm)", \
     sel("scheduler","redis","proxy") u 4:6 w lp lw 2 dt 4 lc 3 t "MPI + scheduler, by proxy (redis)"

unset logscale y
set ylabel "improvement of by proxy: 1 - proxy/value (%)"
set title "Relative improvement (positive: by proxy is faster)"
set yrange [-200:100]
set arrow from graph 0, first 50 to graph 1, first 50 nohead dt 3 lc rgb "gray"
imp(b, st) = sprintf("< awk -F, 'FNR==NR {if ($1==\"%s\" && $3==\"value\") v[$4]=$6; next} $1==\"%s\" && $2==\"%s\" && $3==\"proxy\" && ($4 in v) {print $4\",\"100*(1-$6/v[$4])}' docs/paper/round_trip.csv docs/paper/round_trip.csv", b, b, st)
plot imp("threads","shm") u 1:2 w lp lw 2 lc 1 t "threads (shm)", \
     imp("direct","shm") u 1:2 w lp lw 2 lc 2 t "MPI direct (shm)", \
     imp("scheduler","shm") u 1:2 w lp lw 2 lc 3 t "MPI + scheduler (shm)", \
     imp("direct","redis") u 1:2 w lp lw 2 dt 4 lc 2 t "MPI direct (redis)", \
     imp("scheduler","redis") u 1:2 w lp lw 2 dt 4 lc 3 t "MPI + scheduler (redis)"
unset multiplot
