output "recovery_point" {
  description = "The newest backup DC2 could restore: what a failover would bring back."
  value       = moxxie_vm.db.recovery_point
}

output "running_in" {
  description = "Where the VM runs now."
  value       = moxxie_vm.db.current_dc
}

output "failover_state" {
  description = "Set after a failover: the backup restored and the data-loss window."
  value       = moxxie_vm.db.failover_state
}

output "drill_booted" {
  description = "Whether the last drill's copy booted."
  value       = one(moxxie_failover_drill.db[*].booted)
}
