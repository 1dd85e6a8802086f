<?php
/**
 * Plugin Name: omctl lab plugin
 * Description: The omctl lab's own plugin: names itself and its version in every page's footer.
 * Version: 1.0
 * Requires at least: 6.0
 * Requires PHP: 7.4
 * Author: omctl maintainers
 * License: Apache-2.0
 * Text Domain: omctl-lab-plugin
 */

if (!defined('ABSPATH')) {
    exit;
}

define('OMCTL_LAB_PLUGIN_VERSION', '1.0');

function omctl_lab_plugin_footer() {
    printf(
        '<p class="omctl-lab-plugin">omctl lab plugin %s</p>' . "\n",
        esc_html(OMCTL_LAB_PLUGIN_VERSION)
    );
}
add_action('wp_footer', 'omctl_lab_plugin_footer');

function omctl_lab_plugin_body_class($classes) {
    $classes[] = 'omctl-lab-plugin';
    return $classes;
}
add_filter('body_class', 'omctl_lab_plugin_body_class');
