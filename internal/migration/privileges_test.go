package migration

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moxxie/terraform-provider-moxxie/internal/dcrouter"
	"github.com/moxxie/terraform-provider-moxxie/internal/pvesim"
)

// moverPrivs is what moxxie's token holds in the datacenter-setup guide's role.
var moverPrivs = []string{"Sys.Audit", "VM.Audit", "VM.Allocate", "VM.Clone", "VM.Config.CPU", "VM.Config.Memory",
	"VM.Config.Disk", "VM.Config.CDROM", "VM.Config.Network", "VM.Config.Cloudinit", "VM.Config.Options",
	"VM.Config.HWType", "VM.PowerMgmt", "Datastore.AllocateSpace", "SDN.Use", "SDN.Allocate", "VM.Migrate", "Sys.Incoming"}

// A target token without a privilege the move needs there is refused by the preflight, naming
// the privilege and path, before the VM is shut down; with every privilege the move goes through.
func TestPreflightRefusesATargetTokenWithoutTheMovesPrivileges(t *testing.T) {
	for _, tc := range []struct{ drop, want string }{
		{"", ""},
		{"Sys.Incoming", "Permission check failed (/, Sys.Incoming)"},
		{"VM.Allocate", "Permission check failed (/vms/"},
		{"Datastore.AllocateSpace", "Permission check failed (/storage/local-lvm, Datastore.AllocateSpace)"},
		{"SDN.Use", "Permission check failed (/sdn/zones/localnetwork/vmbr0/200, SDN.Use)"},
	} {
		t.Run("without "+tc.drop, func(t *testing.T) {
			privs := slices.DeleteFunc(slices.Clone(moverPrivs), func(p string) bool { return p == tc.drop })
			e := newEnv(t, false, pvesim.Config{Roles: map[string][]string{"Mover": privs},
				PrivsepTokens: []pvesim.PrivsepToken{{ID: "mover@pve!tf", Secret: "mover-secret", Role: "Mover"}}})
			r, err := dcrouter.New([]dcrouter.Config{{Name: "DC2", URL: e.servers["DC2"].URL, TokenID: "mover@pve!tf", TokenSecret: "mover-secret",
				TLSFingerprint: e.servers["DC2"].Fingerprint}}, dcrouter.WithTaskPoll(5*time.Millisecond, 20*time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			dc2 := e.eng.DCs["DC2"]
			dc2.Client, _ = r.Client("DC2")
			dc2.Config, _ = r.Config("DC2")
			e.eng.DCs["DC2"] = dc2
			e.webVM(nil, true)
			_, err = e.eng.Move(context.Background(), e.request())
			if tc.want == "" {
				if err != nil {
					t.Fatalf("with every privilege: %v", err)
				}
				return
			}
			var pe *PreflightError
			if !errors.As(err, &pe) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Move: err = %v, want a preflight refusal with %q", err, tc.want)
			}
			if v, ok := e.cluster("DC1").VM(100); !ok || v.Status != "running" {
				t.Errorf("VM in DC1 after the refusal: %+v (found %v), want it running", v, ok)
			}
			if n := len(e.cluster("DC2").VMs()); n != 0 {
				t.Errorf("DC2 holds %d VMs", n)
			}
		})
	}
}
