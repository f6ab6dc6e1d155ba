// Package failover is disaster recovery across datacenters: finding a VM's newest backup in its
// failover datacenter, restoring it there (a failover, or a drill that proves the backup boots),
// fencing the stale copy when the lost datacenter returns. Plain Go over dcrouter.Client; it
// knows nothing of Terraform.
package failover
