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
	MaxConcurrent  *int64

	Unknown map[string]bool // keyed by field path, e.g. "network.ip_range"
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

func (in Input) unknown(field string) bool { return in.Unknown[field] }
