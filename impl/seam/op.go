package seam

// An op is the kind of step a goroutine takes at a switch point.
type op uint8

const (
	opLoad op = iota
	opStore
	opAdd
	opSwap
	opCAS
	opOr
	opAnd
	opLock
	opUnlock
	opWait
	opSignal
	opPark
	opUnpark
	opAwait
	opGo
	opYield
	opPoint
	opStart
	opExit
	opIdle
	opClose
	numOps
)

var opNames = [numOps]string{
	opLoad: "load", opStore: "store", opAdd: "add", opSwap: "swap", opCAS: "cas",
	opOr: "or", opAnd: "and", opLock: "lock", opUnlock: "unlock", opWait: "wait",
	opSignal: "signal", opPark: "park", opUnpark: "unpark", opAwait: "await",
	opGo: "go", opYield: "yield", opPoint: "point", opStart: "start", opExit: "exit",
	opIdle: "idle", opClose: "close",
}

func (o op) String() string {
	if o < numOps {
		return opNames[o]
	}
	return "op?"
}
