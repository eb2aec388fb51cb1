# The rows of one series of an experiment's CSV, grouped by column x:
# prints "x,median,min,max" of column y per group, by increasing x.
#   awk -F, -v series=scheduler:shm -v x=4 -v y=9 -f median.awk throughput.csv
# A series is "topology:store" (columns 1 and 2); '#' lines and the header
# are skipped.
!/^#/ && FNR > 2 && $1 ":" $2 == series {
    n[$x]++
    v[$x, n[$x]] = $y + 0
}
END {
    for (k in n) {
        # insertion sort of the group's values: a handful of repeats
        for (i = 2; i <= n[k]; i++)
            for (j = i; j > 1 && v[k, j - 1] > v[k, j]; j--) {
                t = v[k, j]; v[k, j] = v[k, j - 1]; v[k, j - 1] = t
            }
        m = n[k] % 2 ? v[k, (n[k] + 1) / 2] : (v[k, n[k] / 2] + v[k, n[k] / 2 + 1]) / 2
        printf "%s,%g,%g,%g\n", k, m, v[k, 1], v[k, n[k]] | "sort -t, -g -k1"
    }
}
