package datacenter

// Input is one datacenter as written in the provider block. Optional numbers are pointers so that
// "not set" differs from zero; Unknown lists the fields whose value is not known yet (plan time),
// which validation skips rather than fails.
type Input struct {
	Name           string
	Location       string
	ProxmoxURL     string
	APIToken       string
	Username       string
	Password       string
	TLSInsecure    bool
	TLSCAPEM       string
	TLSFingerprint string
	RouterAddress  string
	Storage        string
	Network        *NetworkInput
	Limits         *LimitsInput
	Placement      *PlacementInput
	MaxConcurrent  *int64
	ConnectTimeout string // Go duration, e.g. "10s"; empty: dcrouter.DefaultConnectTimeout
	Failed         bool   // declared lost: moxxie sends it no request

	Unknown map[string]bool // keyed by field path, e.g. "network.ip_range"
	// Empty lists the credential fields set to "" in the configuration: an error, where a field
	// left out falls back to the environment.
	Empty map[string]bool
}

// NetworkInput is the network block of a datacenter.
type NetworkInput struct {
	Bridge       string
	IPRange      string
	VLANRange    string
	SubnetPrefix *int64
	QinQEnabled  bool
	ServiceVLAN  *int64
}

// LimitsInput is the limits block of a datacenter.
type LimitsInput struct {
	MaxVMs      *int64
	MaxCores    *int64
	MaxMemoryMB *int64
}

// PlacementInput is the placement block of a datacenter; nil fields take the defaults.
type PlacementInput struct {
	CPUAllocationRatio    *float64
	MemoryAllocationRatio *float64
	ReservedMemoryMB      *int64
	CountStoppedVMs       bool
}

func (in Input) unknown(field string) bool { return in.Unknown[field] }
