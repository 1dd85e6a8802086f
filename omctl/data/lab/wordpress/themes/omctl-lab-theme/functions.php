<?php
// omctl lab theme: WordPress prints the page title; the stylesheet is this theme's style.css.

define('OMCTL_LAB_THEME_VERSION', '1.0');

function omctl_lab_theme_setup() {
    add_theme_support('title-tag');
    // The emoji script loads from s.w.org: pages stay the same offline and in screenshots.
    remove_action('wp_head', 'print_emoji_detection_script', 7);
    remove_action('wp_print_styles', 'print_emoji_styles');
}
add_action('after_setup_theme', 'omctl_lab_theme_setup');

function omctl_lab_theme_styles() {
    wp_enqueue_style('omctl-lab-theme', get_stylesheet_uri(), array(), OMCTL_LAB_THEME_VERSION);
}
add_action('wp_enqueue_scripts', 'omctl_lab_theme_styles');
