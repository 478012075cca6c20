module github.com/insideout-go/insideout/bench

go 1.26.0

require github.com/insideout-go/insideout v0.0.0

require github.com/puzpuzpuz/xsync/v4 v4.5.0

replace github.com/insideout-go/insideout => ../
