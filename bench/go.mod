module github.com/insideout-go/insideout/bench

go 1.26.0

require github.com/insideout-go/insideout v0.0.0

require (
	github.com/panjf2000/ants/v2 v2.12.1
	github.com/puzpuzpuz/xsync/v4 v4.5.0
	golang.org/x/sync v0.11.0
)

require golang.org/x/sys v0.50.0 // indirect

replace github.com/insideout-go/insideout => ../
