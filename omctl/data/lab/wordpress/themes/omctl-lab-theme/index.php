<?php
// omctl lab theme: every page - header band, the posts (or the page) beside a sidebar, footer.
?><!DOCTYPE html>
<html <?php language_attributes(); ?>>
<head>
<meta charset="<?php bloginfo('charset'); ?>">
<meta name="viewport" content="width=device-width, initial-scale=1">
<?php wp_head(); ?>
</head>
<body <?php body_class(); ?>>
<header class="site-header">
  <p class="site-title"><a href="<?php echo esc_url(home_url('/')); ?>"><?php bloginfo('name'); ?></a></p>
  <p class="site-description"><?php bloginfo('description'); ?></p>
</header>
<div class="site-body">
  <main class="site-main">
<?php if (have_posts()) : ?>
<?php while (have_posts()) : the_post(); ?>
    <article id="post-<?php the_ID(); ?>" <?php post_class(); ?>>
      <h2><a href="<?php the_permalink(); ?>"><?php the_title(); ?></a></h2>
      <?php the_content(); ?>
    </article>
<?php endwhile; ?>
<?php else : ?>
    <article><h2>Nothing here</h2><p>No posts yet.</p></article>
<?php endif; ?>
  </main>
  <aside class="site-sidebar">
    <h2>About</h2>
    <p><?php bloginfo('description'); ?></p>
  </aside>
</div>
<footer class="site-footer">
  <p><?php bloginfo('name'); ?> &middot; omctl lab theme <?php echo esc_html(OMCTL_LAB_THEME_VERSION); ?></p>
<?php wp_footer(); ?>
</footer>
</body>
</html>
