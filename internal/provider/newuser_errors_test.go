package provider

import (
	"context"
	"fmt"
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-testing/config"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/moxxie/terraform-provider-moxxie/internal/datacenter"
	"github.com/moxxie/terraform-provider-moxxie/internal/dcrouter"
	"github.com/moxxie/terraform-provider-moxxie/internal/ipam"
	"github.com/moxxie/terraform-provider-moxxie/internal/network"
)

// Terraform shows a provider-block error on the datacenter's entry (its source line), not on the
// `provider "moxxie" {` line, and names the attribute in the text.
func TestAccProviderBlockErrorShowsTheDatacenterLine(t *testing.T) {
	env := newSimEnv(t, simDC{name: "DC1"}, simDC{name: "DC2"})
	cfg := env.providerBlock(map[string]string{
		"DC2": "      network = { ip_range = \"172.17.0.0/16\", vlan_range = \"100\" }\n",
	}) + "\ndata \"moxxie_datacenters\" \"all\" {}\n"
	resource.Test(t, resource.TestCase{
		CheckDestroy:             env.checkDestroy,
		ProtoV6ProviderFactories: env.factories(),
		Steps: []resource.TestStep{{
			Config:      cfg,
			PlanOnly:    true,
			ExpectError: regexp.MustCompile(`(?s)Invalid VLAN range.*in provider "moxxie":\s+\d+:\s+DC2 = \{.*` + regexp.QuoteMeta(`datacenters["DC2"].network.vlan_range:`)),
		}},
	})
}

// Numbers no int64 holds are refused on their attribute with the allowed range, never as a
// conversion error that asks the user to report a provider bug.
func TestAccOutOfRangeNumbersNameTheRange(t *testing.T) {
	env := newSimEnv(t, simDC{name: "DC1"})
	rows := []struct{ attr, value, want string }{
		{"memory_mb", "99999999999999999999", "memory_mb must be a whole number of at least 16, got 99999999999999999999."},
		{"cores", "1.5", "cores must be a whole number from 1 to 1024, got 1.5."},
	}
	for _, row := range rows {
		t.Run(row.attr, func(t *testing.T) {
			cfg := env.providerBlock(nil) + "\nresource \"moxxie_vm\" \"x\" {\n  name = \"x\"\n  datacenter = \"DC1\"\n  " + row.attr + " = " + row.value + "\n}\n"
			resource.Test(t, resource.TestCase{
				CheckDestroy:             env.checkDestroy,
				ProtoV6ProviderFactories: env.factories(),
				Steps: []resource.TestStep{{
					Config:      cfg,
					PlanOnly:    true,
					ExpectError: regexp.MustCompile(`(?s)Invalid number.*` + regexp.QuoteMeta(row.attr+" = "+row.value) + `.*` + wrapped(row.want).String()),
				}},
			})
		})
	}
}

// The quick-start, as `make demo` applies it, gives each VM on an allocation the cloud-init drive
// that carries its address to the guest; without it the guest never learns the address that
// state reports.
func TestAccQuickstartVMsGetTheirAddresses(t *testing.T) {
	env := newSimEnv(t)
	env.requireSim("serves the quick-start with credentials of its own")
	token := testTokenID + "=" + testTokenSecret
	factories := map[string]func() (tfprotov6.ProviderServer, error){
		"moxxie": providerserver.NewProtocol6WithError(&moxxieProvider{
			version: "test",
			env: func(k string) string { // the quick-start takes its tokens from the environment
				if k == "MOXXIE_DC1_API_TOKEN" || k == "MOXXIE_DC2_API_TOKEN" {
					return token
				}
				return ""
			},
			routerOpts: []dcrouter.Option{dcrouter.WithTaskPoll(5*time.Millisecond, 50*time.Millisecond)},
		}),
	}
	hasDrive := configMatches("ide2", `^local-lvm:vm-\d+-cloudinit`)
	addressed := func(rng string) func(map[string]string) error {
		return configMatches("ipconfig0", `^ip=`+regexp.QuoteMeta(rng)+`\.\d+\.\d+/24,gw=`)
	}
	resource.Test(t, resource.TestCase{
		CheckDestroy: env.checkDestroy,
		Steps: []resource.TestStep{{
			ProtoV6ProviderFactories: factories,
			ConfigDirectory:          config.StaticDirectory("../../examples/quickstart"),
			ConfigVariables: config.Variables{
				"dc1_url": config.StringVariable(env.endpoints["DC1"].URL), "dc1_fingerprint": config.StringVariable(env.endpoints["DC1"].Fingerprint),
				"dc2_url": config.StringVariable(env.endpoints["DC2"].URL), "dc2_fingerprint": config.StringVariable(env.endpoints["DC2"].Fingerprint),
			},
			ConfigStateChecks: []statecheck.StateCheck{
				env.expectVMIn("moxxie_vm.web", "DC1", hasDrive), env.expectVMIn("moxxie_vm.web", "DC1", addressed("172.16")),
				env.expectVMIn("moxxie_vm.db", "DC2", hasDrive), env.expectVMIn("moxxie_vm.db", "DC2", addressed("172.17")),
			},
		}},
	})
}

// terraform plan -generate-config-out for a VM on a moxxie vnet writes the allocation form,
// which plans clean but for the identity tag: no "Address without an allocation", and no address
// change.
func TestAccVM_generatedConfigOfAnAllocationNIC(t *testing.T) {
	env := newSimEnv(t, simDC{name: "DC1"})
	env.requireSim("plants or edits VMs in the simulator behind moxxie's back")
	// The allocation and the VM on it were made by another state, or by hand.
	c, err := env.providerData(t).router.Client("DC1")
	if err != nil {
		t.Fatal(err)
	}
	pool := datacenter.Network{Bridge: "vmbr0", Pool: ipam.Pool{DC: "DC1", IPRange: netip.MustParsePrefix("172.16.0.0/16"), VLANs: ipam.VLANRange{Lo: 100, Hi: 2000}, SubnetPrefix: 24}}
	a, err := network.Allocate(context.Background(), c, pool, network.Request{ClientID: "acme", Name: "default", VLAN: 301})
	if err != nil {
		t.Fatal(err)
	}
	ip := a.Gateway.Next().Next().Next().Next()
	if err := env.cluster("DC1").AddVM("pve1", 170, map[string]string{
		"name": "handmade", "cores": "1", "memory": "512", "ide2": "local-lvm:vm-170-cloudinit,media=cdrom",
		"net0": "virtio=BC:24:11:AB:CD:01,bridge=" + a.Vnet, "ipconfig0": "ip=" + ip.String() + "/24,gw=" + a.Gateway.String(),
	}, true); err != nil {
		t.Fatal(err)
	}
	nic := tfjsonpath.New("network_interface").AtSliceIndex(0)
	resource.Test(t, resource.TestCase{
		CheckDestroy:             env.checkDestroy,
		ProtoV6ProviderFactories: env.factories(),
		Steps: []resource.TestStep{{
			Config:             env.providerBlock(map[string]string{"DC1": networks["DC1"]}),
			ResourceName:       "moxxie_vm.handmade",
			ImportState:        true,
			ImportStateKind:    resource.ImportBlockWithID,
			ImportStateId:      "DC1/170",
			GenerateConfig:     true,
			ExpectNonEmptyPlan: true,
			ImportPlanChecks: resource.ImportPlanChecks{
				PreApply: []plancheck.PlanCheck{
					expectOnlyChanged("moxxie_vm.handmade", "identity_tag"),
					plancheck.ExpectKnownValue("moxxie_vm.handmade", nic.AtMapKey("allocation_id"), knownvalue.StringExact("DC1/mxv301")),
					plancheck.ExpectKnownValue("moxxie_vm.handmade", nic.AtMapKey("ip"), knownvalue.StringExact(ip.String())),
				},
			},
		}},
	})
}

// A VM whose identity tag someone removed by hand is adopted back by the VMID state knows and
// tagged again, never left orphaned beside a second VM of its name.
func TestAccVM_strippedIdentityTagIsAdoptedBack(t *testing.T) {
	env := newSimEnv(t, simDC{name: "DC1"})
	env.requireSim("plants or edits VMs in the simulator behind moxxie's back")
	config := env.providerBlock(nil) + `
resource "moxxie_vm" "web" {
  name       = "web-1"
  datacenter = "DC1"
  tags       = ["web"]
}
`
	var vmid int
	resource.Test(t, resource.TestCase{
		CheckDestroy:             env.checkDestroy,
		ProtoV6ProviderFactories: env.factories(),
		Steps: []resource.TestStep{
			{
				Config: config,
				Check: func(*terraform.State) error {
					vms := env.cluster("DC1").VMs()
					if len(vms) != 1 {
						return fmt.Errorf("want one VM, got %d", len(vms))
					}
					vmid = vms[0].VMID
					return nil
				},
			},
			{
				PreConfig: func() {
					if err := env.cluster("DC1").UpdateVM(vmid, map[string]string{"tags": "web"}); err != nil { // the identity tag is gone
						t.Fatal(err)
					}
				},
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("moxxie_vm.web", plancheck.ResourceActionUpdate),
					expectOnlyChanged("moxxie_vm.web", "identity_tag"),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					env.expectVMIn("moxxie_vm.web", "DC1", tagsAre("web")),
					statecheck.ExpectKnownValue("moxxie_vm.web", tfjsonpath.New("vmid"), knownvalue.Int64Func(func(v int64) error {
						if int(v) != vmid {
							return fmt.Errorf("vmid %d, want the original %d", v, vmid)
						}
						return nil
					})),
				},
				Check: func(*terraform.State) error {
					if n := len(env.cluster("DC1").VMs()); n != 1 {
						return fmt.Errorf("DC1 holds %d VMs, want the one adopted back", n)
					}
					return nil
				},
			},
		},
	})
}

// The cloud-init password is write-only: it reaches PVE (which stores it hashed) on create and
// when password_wo_version changes, and never Terraform's plan or state.
func TestAccVM_cloudInitPasswordIsWriteOnly(t *testing.T) {
	env := newSimEnv(t, simDC{name: "DC1"})
	env.requireSim("plants or edits VMs in the simulator behind moxxie's back")
	cfg := func(password string, version int) string {
		return env.providerBlock(nil) + fmt.Sprintf(`
resource "moxxie_vm" "app" {
  name       = "app-1"
  datacenter = "DC1"
  started    = false
  cloud_init = { user = "debian", password_wo = %q, password_wo_version = %d }
}
`, password, version)
	}
	var firstHash string
	stored := func(want func(hash string) error) resource.TestCheckFunc {
		return func(s *terraform.State) error {
			for _, r := range s.RootModule().Resources {
				for k, v := range r.Primary.Attributes {
					if strings.Contains(v, "first-s3cret") || strings.Contains(v, "second-s3cret") {
						return fmt.Errorf("state holds the password in %s", k)
					}
				}
			}
			vms := env.cluster("DC1").VMs()
			if len(vms) != 1 {
				return fmt.Errorf("want one VM, got %d", len(vms))
			}
			h := vms[0].Config["cipassword"]
			if !strings.HasPrefix(h, "$5$") {
				return fmt.Errorf("PVE holds cipassword %q, want a hash", h)
			}
			return want(h)
		}
	}
	resource.Test(t, resource.TestCase{
		CheckDestroy:             env.checkDestroy,
		ProtoV6ProviderFactories: env.factories(),
		Steps: []resource.TestStep{
			{
				Config: cfg("first-s3cret", 1),
				Check:  stored(func(h string) error { firstHash = h; return nil }),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("moxxie_vm.app", tfjsonpath.New("cloud_init").AtMapKey("password_wo"), knownvalue.Null()),
				},
			},
			{
				// Without a new version a changed password is invisible to Terraform: no plan.
				Config:           cfg("second-s3cret", 1),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
			{
				Config: cfg("second-s3cret", 2),
				Check: stored(func(h string) error {
					if h == firstHash {
						return fmt.Errorf("password_wo_version changed but the password was not sent again")
					}
					return nil
				}),
			},
			{
				Config:           cfg("second-s3cret", 2),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
		},
	})
}

// A plain import with a hand-written configuration that names the allocation by client and name
// plans no new address: state's DATACENTER/VNET id and the configuration's id are the same
// allocation.
func TestAccVM_importOfAnAllocationNICPlansNoAddressChange(t *testing.T) {
	env := newSimEnv(t, simDC{name: "DC1"})
	env.requireSim("plants or edits VMs in the simulator behind moxxie's back")
	c, err := env.providerData(t).router.Client("DC1")
	if err != nil {
		t.Fatal(err)
	}
	pool := datacenter.Network{Bridge: "vmbr0", Pool: ipam.Pool{DC: "DC1", IPRange: netip.MustParsePrefix("172.16.0.0/16"), VLANs: ipam.VLANRange{Lo: 100, Hi: 2000}, SubnetPrefix: 24}}
	a, err := network.Allocate(context.Background(), c, pool, network.Request{ClientID: "acme", Name: "default", VLAN: 302})
	if err != nil {
		t.Fatal(err)
	}
	ip := a.Gateway.Next().Next().Next()
	if err := env.cluster("DC1").AddVM("pve1", 171, map[string]string{
		"name": "handmade", "cores": "1", "memory": "512", "ide2": "local-lvm:vm-171-cloudinit,media=cdrom",
		"net0": "virtio=BC:24:11:AB:CD:02,bridge=" + a.Vnet, "ipconfig0": "ip=" + ip.String() + "/24,gw=" + a.Gateway.String(),
	}, true); err != nil {
		t.Fatal(err)
	}
	config := env.providerBlock(map[string]string{"DC1": networks["DC1"]}) + `
resource "moxxie_vm" "handmade" {
  name              = "handmade"
  datacenter        = "DC1"
  network_interface = [{ allocation_id = "DC1/acme/default" }]
}
`
	nic := tfjsonpath.New("network_interface").AtSliceIndex(0)
	resource.Test(t, resource.TestCase{
		CheckDestroy:             env.checkDestroy,
		ProtoV6ProviderFactories: env.factories(),
		Steps: []resource.TestStep{{
			Config:             config,
			ResourceName:       "moxxie_vm.handmade",
			ImportState:        true,
			ImportStateKind:    resource.ImportBlockWithID,
			ImportStateId:      "DC1/171",
			ExpectNonEmptyPlan: true,
			ImportPlanChecks: resource.ImportPlanChecks{
				PreApply: []plancheck.PlanCheck{
					plancheck.ExpectKnownValue("moxxie_vm.handmade", nic.AtMapKey("ip"), knownvalue.StringExact(ip.String())),
					plancheck.ExpectKnownValue("moxxie_vm.handmade", nic.AtMapKey("bridge"), knownvalue.StringExact(a.Vnet)),
				},
			},
		}},
	})
}

// The setup guide's way to rename a datacenter: with the resources gone from state (terraform
// state rm), import blocks under the new key adopt them again. The VM keeps its identity and its
// address; nothing in Proxmox VE changes.
func TestAccRenamedDatacenterImportsUnderTheNewName(t *testing.T) {
	env := newSimEnv(t, simDC{name: "DC1"})
	env.requireSim("plants or edits VMs in the simulator behind moxxie's back")
	c, err := env.providerData(t).router.Client("DC1")
	if err != nil {
		t.Fatal(err)
	}
	pool := datacenter.Network{Bridge: "vmbr0", Pool: ipam.Pool{DC: "DC1", IPRange: netip.MustParsePrefix("172.16.0.0/16"), VLANs: ipam.VLANRange{Lo: 100, Hi: 2000}, SubnetPrefix: 24}}
	a, err := network.Allocate(context.Background(), c, pool, network.Request{ClientID: "quickstart", Name: "default"})
	if err != nil {
		t.Fatal(err)
	}
	const id = "00000000000000ab" // what the VM carried under the old name
	ip := a.Gateway.Next().Next()
	if err := env.cluster("DC1").AddVM("pve1", 105, map[string]string{
		"name": "web-1", "cores": "1", "memory": "512", "tags": "moxxie-" + id, "ide2": "local-lvm:vm-105-cloudinit,media=cdrom",
		"net0": "virtio=BC:24:11:AB:CD:03,bridge=" + a.Vnet, "ipconfig0": "ip=" + ip.String() + "/24,gw=" + a.Gateway.String(),
	}, true); err != nil {
		t.Fatal(err)
	}
	s := env.endpoints["DC1"]
	config := fmt.Sprintf(`
provider "moxxie" {
  datacenters = {
    FRA = {
      proxmox_url     = %q
      api_token       = %q
      tls_fingerprint = %q
      network         = { bridge = "vmbr0", ip_range = "172.16.0.0/16", vlan_range = "100-2000" }
    }
  }
}

import {
  to = moxxie_network_allocation.dc1
  id = "FRA/quickstart/default"
}

import {
  to = moxxie_vm.web
  id = "FRA/105"
}

resource "moxxie_network_allocation" "dc1" {
  datacenter = "FRA"
  client_id  = "quickstart"
}

resource "moxxie_vm" "web" {
  name              = "web-1"
  datacenter        = "FRA"
  network_interface = [{ allocation_id = moxxie_network_allocation.dc1.id }]
}
`, s.URL, testTokenID+"="+testTokenSecret, s.Fingerprint)
	nic := tfjsonpath.New("network_interface").AtSliceIndex(0)
	resource.Test(t, resource.TestCase{
		CheckDestroy:             env.checkDestroy,
		ProtoV6ProviderFactories: env.factories(),
		Steps: []resource.TestStep{{
			Config: config,
			ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
				plancheck.ExpectResourceAction("moxxie_network_allocation.dc1", plancheck.ResourceActionNoop),
				// Only the NIC's allocation_id, from the import's FRA/mxvN to the name the configuration uses.
				expectOnlyChanged("moxxie_vm.web", "network_interface"),
				plancheck.ExpectKnownValue("moxxie_vm.web", tfjsonpath.New("id"), knownvalue.StringExact(id)),
				plancheck.ExpectKnownValue("moxxie_vm.web", nic.AtMapKey("ip"), knownvalue.StringExact(ip.String())),
				plancheck.ExpectKnownValue("moxxie_vm.web", nic.AtMapKey("bridge"), knownvalue.StringExact(a.Vnet)),
			}},
			ConfigStateChecks: []statecheck.StateCheck{
				env.expectVMIn("moxxie_vm.web", "DC1", configMatches("ipconfig0", "^ip="+regexp.QuoteMeta(ip.String())+"/24,")),
			},
		}},
	})
}
